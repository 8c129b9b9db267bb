# String functions.
{ lib }:
rec {
  concatStrings = builtins.concatStringsSep "";
  concatStringsSep = builtins.concatStringsSep;
  concatMapStrings = f: list: concatStrings (map f list);
  concatMapStringsSep = sep: f: list: concatStringsSep sep (map f list);
  optionalString = cond: string: if cond then string else "";
  hasPrefix = pref: str: builtins.substring 0 (builtins.stringLength pref) str == pref;
  hasSuffix = suffix: content:
    let
      lenContent = builtins.stringLength content;
      lenSuffix = builtins.stringLength suffix;
    in
    lenContent >= lenSuffix
    && builtins.substring (lenContent - lenSuffix) lenContent content == suffix;
  splitString = sep: s: builtins.filter builtins.isString (builtins.split (escapeRegex sep) s);
  escapeRegex = builtins.replaceStrings
    [ "\\" "[" "]" "{" "}" "(" ")" "." "*" "+" "?" "|" "^" "$" ]
    [ "\\\\" "\\[" "\\]" "\\{" "\\}" "\\(" "\\)" "\\." "\\*" "\\+" "\\?" "\\|" "\\^" "\\$" ];
  fixedWidthString = width: filler: str:
    let strw = builtins.stringLength str; in
    if strw >= width then str else fixedWidthString width filler (filler + str);
  fixedWidthNumber = width: n: fixedWidthString width "0" (toString n);
  toUpper = builtins.replaceStrings
    (splitChars "abcdefghijklmnopqrstuvwxyz")
    (splitChars "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
  splitChars = s: builtins.genList (i: builtins.substring i 1 s) (builtins.stringLength s);
  escapeShellArg = arg: "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString arg)}'";
  # Renders an option path: [ "services" "nginx" "enable" ] -> "services.nginx.enable".
  showOption = parts: concatStringsSep "." parts;
}
