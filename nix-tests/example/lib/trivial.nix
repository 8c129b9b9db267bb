# Small general-purpose functions.
{ lib }:
{
  id = x: x;
  const = x: _: x;
  flip = f: a: b: f b a;
  pipe = builtins.foldl' (x: f: f x);
  min = a: b: if a < b then a else b;
  max = a: b: if a > b then a else b;
  mod = a: b: a - (a / b) * b;
  boolToString = b: if b then "true" else "false";
  isFunction = builtins.isFunction;
}
