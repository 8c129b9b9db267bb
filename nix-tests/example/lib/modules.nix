# A small NixOS-style module system.
#
# A module is a path to a file holding a module, a function { config, options, lib, ... }: {...}
# or an attribute set. Its attributes are `imports` (more modules), `options` (nested option
# declarations made with mkOption) and `config` (definitions); an attribute set without
# `options` and `config` is all definitions ("shorthand"). evalModules collects every module
# reachable through imports (each file once), merges the option declarations into one tree and
# builds `config` from it: each option's value merges the definitions of all modules, after
# mkIf/mkMerge are discharged, mkOverride priorities are resolved (mkForce 50 < plain 100 <
# mkDefault 1000 < option default 1500) and definitions are sorted by mkOrder, then each
# definition is checked against the option's type and the type merges them. All of this is lazy:
# a value is only merged (and its definitions only evaluated) when something reads it.
{ lib }:
let
  inherit (lib.strings) showOption;
  inherit (lib.options) isOption;

  defaultPriority = 100;
  defaultOrderPriority = 1000;
in
rec {
  mkIf = condition: content: { _type = "if"; inherit condition content; };
  mkMerge = contents: { _type = "merge"; inherit contents; };
  mkOverride = priority: content: { _type = "override"; inherit priority content; };
  mkOptionDefault = mkOverride 1500;
  mkDefault = mkOverride 1000;
  mkForce = mkOverride 50;
  mkOrder = priority: content: { _type = "order"; inherit priority content; };
  mkBefore = mkOrder 500;
  mkAfter = mkOrder 1500;

  evalModules = { modules, specialArgs ? { }, prefix ? [ ] }:
    let
      args = { inherit lib options config; } // specialArgs;

      collected = collectModules args modules;

      options = mergeOptionDecls prefix
        (map (m: { inherit (m) file; options = m.options; }) collected);

      config = mergeConfig prefix options
        (builtins.concatMap
          (m: map (value: { inherit (m) file; inherit value; }) (pushDownProperties m.config))
          collected);
    in
    { inherit options config; modules = map (m: m.key) collected; };

  # Normalises one module to { key, file, imports, options, config }.
  loadModule = args: parentFile: anonKey: m:
    if builtins.isPath m || builtins.isString m then
      let file = toString m; in
      unifyModule file file (applyIfFunction (import m) args)
    else
      unifyModule (m._file or parentFile) anonKey (applyIfFunction m args);

  applyIfFunction = f: args: if builtins.isFunction f then f args else f;

  unifyModule = file: key: m:
    let
      structured = m ? options || m ? config;
      m' = if builtins.isAttrs m then m
        else throw "The module `${key}' (from `${file}') is not an attribute set or a function returning one.";
    in
    {
      inherit key;
      file = m'._file or file;
      imports = m'.imports or [ ];
      options = if structured then m'.options or { } else { };
      config = if structured then m'.config or { }
        else builtins.removeAttrs m' [ "imports" "_file" "key" ];
    };

  # Every module reachable through `imports`, each key (file) once, parents before children.
  collectModules = args: modules:
    let
      item = parentFile: anonKey: m:
        let mod = loadModule args parentFile anonKey m; in
        { inherit (mod) key; inherit mod; };
      closure = builtins.genericClosure {
        startSet = lib.lists.imap1 (i: item "<evalModules>" "<evalModules>:${toString i}") modules;
        operator = it:
          lib.lists.imap1 (i: item it.mod.file "${it.key}:import-${toString i}") it.mod.imports;
      };
    in
    map (it: it.mod) closure;

  # One tree of option declarations; declaring an option twice is an error.
  mergeOptionDecls = loc: decls:
    builtins.zipAttrsWith
      (name: ds:
        let
          loc' = loc ++ [ name ];
          opts = builtins.filter (d: isOption d.value) ds;
          first = builtins.head opts;
        in
        if opts == [ ] then
          mergeOptionDecls loc' (map (d: { inherit (d) file; options = d.value; }) ds)
        else if builtins.length ds > 1 then
          throw "The option `${showOption loc'}' in `${(builtins.elemAt ds 1).file}' is already declared in `${first.file}'."
        else
          first.value // { loc = loc'; declarations = [ first.file ]; })
      (map (d: builtins.mapAttrs (n: v: { inherit (d) file; value = v; }) d.options) decls);

  # The config tree at `loc`: one attribute per declared option or option group. `defs` are the
  # modules' definitions at this level, each an attribute set (after pushDownProperties).
  mergeConfig = loc: opts: defs:
    let
      byName = builtins.zipAttrsWith (name: defs: defs)
        (map (def: builtins.mapAttrs (n: v: { inherit (def) file; value = v; }) def.value) defs);
      undeclared = builtins.filter (n: !(opts ? ${n})) (builtins.attrNames byName);
      bad = builtins.head undeclared;
    in
    if undeclared != [ ] then
      throw "The option `${showOption (loc ++ [ bad ])}' defined in `${(builtins.head byName.${bad}).file}' does not exist."
    else
      builtins.mapAttrs
        (name: opt:
          let here = byName.${name} or [ ]; in
          if isOption opt then
            evalOptionValue (loc ++ [ name ]) opt here
          else
            mergeConfig (loc ++ [ name ]) opt
              (builtins.concatMap
                (def: map (value: { inherit (def) file; inherit value; }) (pushDownProperties def.value))
                here))
        opts;

  # The value of one option from its definitions and declaration.
  evalOptionValue = loc: opt: defs:
    let
      withDefault = defs
        ++ lib.lists.optional (opt ? default)
          { file = builtins.head opt.declarations; value = mkOptionDefault opt.default; };
      res = mergeDefinitions loc opt.type withDefault;
      value =
        if res.isDefined then res.value
        else throw "The option `${showOption loc}' is used but not defined.";
    in
    if opt.apply or null != null then opt.apply value else value;

  # { isDefined, value, defs } from the definitions of one option (or list/attrs element).
  mergeDefinitions = loc: type: defs:
    let
      discharged = builtins.concatMap
        (def: map (value: { inherit (def) file; inherit value; }) (dischargeProperties def.value))
        defs;
      checked = map
        (def:
          if type.check def.value then def
          else throw "The option value `${showOption loc}' in `${def.file}' is not of type `${type.description}'.")
        (sortProperties (filterOverrides discharged));
    in
    {
      isDefined = checked != [ ];
      value = type.merge loc checked;
      defs = checked;
    };

  # mkMerge and mkIf on attribute sets become mkIf on each attribute.
  pushDownProperties = cfg:
    if (cfg._type or "") == "merge" then builtins.concatMap pushDownProperties cfg.contents
    else if (cfg._type or "") == "if" then
      map (builtins.mapAttrs (n: v: mkIf cfg.condition v)) (pushDownProperties cfg.content)
    else if (cfg._type or "") == "override" then
      map (builtins.mapAttrs (n: v: mkOverride cfg.priority v)) (pushDownProperties cfg.content)
    else [ cfg ];

  # A definition's values once mkMerge is flattened and mkIf decided.
  dischargeProperties = def:
    if (def._type or "") == "merge" then builtins.concatMap dischargeProperties def.contents
    else if (def._type or "") == "if" then
      if !builtins.isBool def.condition then throw "mkIf called with a non-Boolean condition"
      else if def.condition then dischargeProperties def.content
      else [ ]
    else [ def ];

  # Keeps only the definitions with the highest priority (lowest number), unwrapped.
  filterOverrides = defs:
    let
      getPrio = def: if (def.value._type or "") == "override" then def.value.priority else defaultPriority;
      highest = builtins.foldl' (p: def: lib.trivial.min p (getPrio def)) 9999 defs;
      strip = def:
        if (def.value._type or "") == "override" then def // { value = def.value.content; } else def;
    in
    map strip (builtins.filter (def: getPrio def == highest) defs);

  # Sorts by mkOrder priority (stable), unwrapped.
  sortProperties = defs:
    let
      strip = def:
        if (def.value._type or "") == "order"
        then def // { value = def.value.content; priority = def.value.priority; }
        else def // { priority = defaultOrderPriority; };
    in
    builtins.sort (a: b: a.priority < b.priority) (map strip defs);
}
