# Option declarations and the simple merge functions option types use.
{ lib }:
rec {
  # Declares an option. `type` checks and merges definitions; `default` has the lowest priority;
  # `apply` post-processes the merged value.
  mkOption =
    { type ? lib.types.unspecified
    , default ? null
    , defaultText ? null
    , example ? null
    , description ? ""
    , internal ? false
    , apply ? null
    }@attrs:
    attrs // { _type = "option"; inherit type; };

  mkEnableOption = name: mkOption {
    type = lib.types.bool;
    default = false;
    description = "Whether to enable ${name}.";
  };

  isOption = v: builtins.isAttrs v && (v._type or null) == "option";

  getValues = map (d: d.value);
  getFiles = map (d: d.file);

  # All definitions must agree (ints, strings, booleans...).
  mergeEqualOption = loc: defs:
    if defs == [ ] then abort "mergeEqualOption: no definitions for ${lib.strings.showOption loc}"
    else
      (builtins.foldl'
        (first: def:
          if def.value != first.value then
            throw "The option `${lib.strings.showOption loc}' has conflicting definition values:\n- In `${first.file}': ${toString first.value}\n- In `${def.file}': ${toString def.value}"
          else first)
        (builtins.head defs)
        (builtins.tail defs)).value;

  mergeOneOption = loc: defs:
    if builtins.length defs == 1 then (builtins.head defs).value
    else throw "The option `${lib.strings.showOption loc}' is defined multiple times in ${toString (getFiles defs)}.";
}
