# List functions.
{ lib }:
rec {
  inherit (builtins) length head tail elemAt genList filter concatLists elem all any map sort;

  foldl' = op: nul: list: builtins.foldl' op nul list;

  # Left fold without forcing the accumulator at each step.
  foldl = op: nul: list:
    let
      len = length list;
      go = n: if n == -1 then nul else op (go (n - 1)) (elemAt list n);
    in
    go (len - 1);

  # Right fold (recursive: meant for short lists).
  foldr = op: nul: list:
    let
      len = length list;
      go = n: if n == len then nul else op (elemAt list n) (go (n + 1));
    in
    go 0;

  concatMap = f: list: concatLists (map f list);
  flatten = x: if builtins.isList x then concatMap flatten x else [ x ];
  range = first: last: if first > last then [ ] else genList (n: first + n) (last - first + 1);
  sum = foldl' (a: b: a + b) 0;
  count = pred: foldl' (c: x: if pred x then c + 1 else c) 0;
  last = list: elemAt list (length list - 1);
  take = n: list: genList (elemAt list) (lib.trivial.min n (length list));
  drop = n: list:
    let len = length list; in
    if n >= len then [ ] else genList (i: elemAt list (i + n)) (len - n);
  imap0 = f: list: genList (n: f n (elemAt list n)) (length list);
  imap1 = f: list: genList (n: f (n + 1) (elemAt list n)) (length list);
  reverseList = list: let l = length list; in genList (n: elemAt list (l - n - 1)) l;
  optional = cond: elem: if cond then [ elem ] else [ ];
  optionals = cond: elems: if cond then elems else [ ];
  toList = x: if builtins.isList x then x else [ x ];
  unique = foldl' (acc: e: if builtins.elem e acc then acc else acc ++ [ e ]) [ ];
  partition = builtins.partition;
  zipListsWith = f: fst: snd:
    genList (n: f (elemAt fst n) (elemAt snd n)) (lib.trivial.min (length fst) (length snd));
  findFirst = pred: default: list:
    let found = filter pred list; in if found == [ ] then default else head found;
}
