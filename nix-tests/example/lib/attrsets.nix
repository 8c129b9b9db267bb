# Attribute set functions.
{ lib }:
rec {
  inherit (builtins) attrNames attrValues mapAttrs listToAttrs zipAttrsWith catAttrs;

  nameValuePair = name: value: { inherit name value; };
  mapAttrs' = f: set: listToAttrs (map (attr: f attr set.${attr}) (attrNames set));
  mapAttrsToList = f: attrs: map (name: f name attrs.${name}) (attrNames attrs);
  filterAttrs = pred: set:
    listToAttrs (builtins.concatMap
      (name: let v = set.${name}; in if pred name v then [ (nameValuePair name v) ] else [ ])
      (attrNames set));
  genAttrs = names: f: listToAttrs (map (n: nameValuePair n (f n)) names);
  optionalAttrs = cond: as: if cond then as else { };

  attrByPath = attrPath: default: e:
    let attr = builtins.head attrPath; in
    if attrPath == [ ] then e
    else if e ? ${attr} then attrByPath (builtins.tail attrPath) default e.${attr}
    else default;
  hasAttrByPath = attrPath: e:
    let attr = builtins.head attrPath; in
    if attrPath == [ ] then true
    else if e ? ${attr} then hasAttrByPath (builtins.tail attrPath) e.${attr}
    else false;
  setAttrByPath = attrPath: value:
    lib.lists.foldr (name: acc: { ${name} = acc; }) value attrPath;

  # Merges b into a, recursing into attribute sets present in both.
  recursiveUpdate = lhs: rhs:
    lhs // mapAttrs
      (name: v:
        if builtins.isAttrs v && lhs ? ${name} && builtins.isAttrs lhs.${name}
        then recursiveUpdate lhs.${name} v
        else v)
      rhs;

  # All values in a nested attribute set satisfying pred (not descending into them).
  collect = pred: attrs:
    if pred attrs then [ attrs ]
    else if builtins.isAttrs attrs then builtins.concatMap (collect pred) (attrValues attrs)
    else [ ];
}
