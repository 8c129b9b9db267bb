# Option types: a check for each definition and a merge of all definitions into one value.
{ lib }:
let
  inherit (lib.options) mergeEqualOption mergeOneOption getValues;
  inherit (lib.strings) showOption concatStringsSep;

  mkOptionType =
    { name
    , description ? name
    , check ? (_: true)
    , merge ? mergeOneOption
    , nestedTypes ? { }
    }:
    { _type = "option-type"; inherit name description check merge nestedTypes; };

  # Definitions of the elements of a list or attribute set, merged like an option's.
  mergeElement = loc: elemType: defs: lib.modules.mergeDefinitions loc elemType defs;
in
rec {
  inherit mkOptionType;

  unspecified = mkOptionType {
    name = "unspecified";
    merge = loc: defs:
      if builtins.length defs == 1 then (builtins.head defs).value
      else if builtins.all (d: builtins.isList d.value) defs then builtins.concatLists (getValues defs)
      else if builtins.all (d: builtins.isAttrs d.value) defs then builtins.foldl' lib.attrsets.recursiveUpdate { } (getValues defs)
      else mergeEqualOption loc defs;
  };

  bool = mkOptionType { name = "bool"; description = "boolean"; check = builtins.isBool; merge = mergeEqualOption; };
  int = mkOptionType { name = "int"; description = "signed integer"; check = builtins.isInt; merge = mergeEqualOption; };
  str = mkOptionType { name = "str"; description = "string"; check = builtins.isString; merge = mergeEqualOption; };
  path = mkOptionType {
    name = "path";
    check = x: builtins.isPath x || (builtins.isString x && lib.strings.hasPrefix "/" x);
    merge = mergeEqualOption;
  };

  # Strings concatenated with newlines, in definition order (mkBefore/mkAfter).
  lines = mkOptionType {
    name = "lines";
    description = "strings concatenated with \"\\n\"";
    check = builtins.isString;
    merge = loc: defs: concatStringsSep "\n" (getValues defs);
  };

  ints = {
    between = lo: hi: mkOptionType {
      name = "intBetween";
      description = "integer between ${toString lo} and ${toString hi} (both inclusive)";
      check = x: builtins.isInt x && x >= lo && x <= hi;
      merge = mergeEqualOption;
    };
    unsigned = mkOptionType {
      name = "unsignedInt";
      description = "unsigned integer";
      check = x: builtins.isInt x && x >= 0;
      merge = mergeEqualOption;
    };
  };
  port = ints.between 0 65535;

  enum = values: mkOptionType {
    name = "enum";
    description = "one of ${concatStringsSep ", " (map builtins.toJSON values)}";
    check = x: builtins.elem x values;
    merge = mergeEqualOption;
  };

  nullOr = elemType: mkOptionType {
    name = "nullOr";
    description = "null or ${elemType.description}";
    check = x: x == null || elemType.check x;
    merge = loc: defs:
      let nrNulls = lib.lists.count (d: d.value == null) defs; in
      if nrNulls == builtins.length defs then null
      else if nrNulls != 0 then throw "The option `${showOption loc}' is defined both null and not null."
      else elemType.merge loc defs;
    nestedTypes.elemType = elemType;
  };

  # Lists are concatenated; each element is merged (and checked) on its own, lazily.
  listOf = elemType: mkOptionType {
    name = "listOf";
    description = "list of ${elemType.description}";
    check = builtins.isList;
    merge = loc: defs:
      builtins.concatMap
        (def: lib.lists.imap1
          (i: v: (mergeElement (loc ++ [ "[definition ${toString i}]" ]) elemType [ { inherit (def) file; value = v; } ]).value)
          def.value)
        defs;
    nestedTypes.elemType = elemType;
  };

  # Attribute sets are merged per attribute; an attribute may itself use mkIf/mkDefault/...
  attrsOf = elemType: mkOptionType {
    name = "attrsOf";
    description = "attribute set of ${elemType.description}";
    check = builtins.isAttrs;
    merge = loc: defs:
      let
        byName = builtins.zipAttrsWith (name: defs: defs)
          (map (def: builtins.mapAttrs (n: v: { inherit (def) file; value = v; }) def.value) defs);
        merged = builtins.mapAttrs (name: defs: mergeElement (loc ++ [ name ]) elemType defs) byName;
      in
      builtins.mapAttrs (n: m: m.value) (lib.attrsets.filterAttrs (n: m: m.isDefined) merged);
    nestedTypes.elemType = elemType;
  };

  # A nested module: its definitions are evaluated with the module system against `options`.
  # `module` is an attribute set { options = ...; } or a function taking { name, config, lib, ... }.
  submodule = module: mkOptionType {
    name = "submodule";
    description = "submodule";
    check = x: builtins.isAttrs x || builtins.isFunction x;
    merge = loc: defs:
      (lib.modules.evalModules {
        prefix = loc;
        specialArgs.name = lib.lists.last loc;
        # An attribute set definition holds only config (it may set an option named `options`).
        modules = [ module ]
          ++ map
            (def:
              if builtins.isAttrs def.value then { _file = def.file; config = def.value; }
              else { _file = def.file; imports = [ def.value ]; })
            defs;
      }).config;
  };
}
