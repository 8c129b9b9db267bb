# The example's library: a small, self-contained subset of nixpkgs' lib (no nixpkgs needed).
# Every file lives under lib/, so nixperf counts it as library code: its cost rolls up into the
# module whose code called it.
let
  callLibs = file: import file { inherit lib; };

  lib = {
    trivial = callLibs ./trivial.nix;
    lists = callLibs ./lists.nix;
    attrsets = callLibs ./attrsets.nix;
    strings = callLibs ./strings.nix;
    options = callLibs ./options.nix;
    types = callLibs ./types.nix;
    modules = callLibs ./modules.nix;

    inherit (lib.trivial) id const flip pipe min max mod boolToString isFunction;
    inherit (lib.lists)
      foldl' foldl foldr map filter concatMap concatLists flatten range sum count any all
      elem elemAt length head tail last take drop sort unique optional optionals toList imap0 imap1
      genList partition zipListsWith findFirst reverseList;
    inherit (lib.attrsets)
      attrNames attrValues mapAttrs mapAttrs' mapAttrsToList filterAttrs genAttrs nameValuePair
      listToAttrs attrByPath setAttrByPath hasAttrByPath recursiveUpdate zipAttrsWith collect
      optionalAttrs catAttrs;
    inherit (lib.strings)
      concatStrings concatStringsSep concatMapStrings concatMapStringsSep optionalString
      hasPrefix hasSuffix fixedWidthString fixedWidthNumber toUpper escapeShellArg showOption
      splitString;
    inherit (lib.options) mkOption mkEnableOption isOption mergeEqualOption getValues getFiles;
    inherit (lib.modules)
      evalModules mkIf mkMerge mkOverride mkDefault mkForce mkOptionDefault mkOrder mkBefore
      mkAfter;
  };
in
lib
