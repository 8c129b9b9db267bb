# Users and groups; /etc/passwd and /etc/group with automatically allocated ids.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.users;

  userModule = { name, config, ... }: {
    options = {
      name = mkOption { type = types.str; default = name; };
      uid = mkOption { type = types.nullOr types.int; default = null; };
      group = mkOption { type = types.str; default = if config.isSystemUser then name else "users"; };
      extraGroups = mkOption { type = types.listOf types.str; default = [ ]; };
      description = mkOption { type = types.str; default = ""; };
      home = mkOption { type = types.str; default = if config.isSystemUser then "/var/empty" else "/home/${name}"; };
      shell = mkOption { type = types.str; default = if config.isSystemUser then "/run/current-system/sw/bin/nologin" else "/run/current-system/sw/bin/bash"; };
      isSystemUser = mkOption { type = types.bool; default = false; };
    };
  };

  groupModule = { name, ... }: {
    options = {
      name = mkOption { type = types.str; default = name; };
      gid = mkOption { type = types.nullOr types.int; default = null; };
      members = mkOption { type = types.listOf types.str; default = [ ]; };
    };
  };

  # Ids for users/groups without one: normal users count up from 1000, system ones down from 999.
  allocate = items: isSystem:
    let
      sorted = lib.sort (a: b: a.name < b.name) (lib.attrValues items);
      auto = lib.filter (x: x.id == null) sorted;
      normal = lib.filter (x: !(isSystem x)) auto;
      system = lib.filter isSystem auto;
    in
    lib.listToAttrs (lib.filter (x: x.value != null) (map (x: lib.nameValuePair x.name x.id) sorted)
      ++ lib.imap0 (i: x: lib.nameValuePair x.name (1000 + i)) normal
      ++ lib.imap0 (i: x: lib.nameValuePair x.name (999 - i)) system);

  uids = allocate (lib.mapAttrs (n: u: { inherit (u) name isSystemUser; id = u.uid; }) cfg.users) (u: u.isSystemUser);
  gids = allocate (lib.mapAttrs (n: g: { inherit (g) name; id = g.gid; }) cfg.groups) (g: true);

  membersOf = group: lib.unique (group.members
    ++ map (u: u.name) (lib.filter (u: lib.elem group.name u.extraGroups) (lib.attrValues cfg.users)));
in
{
  options.users = {
    users = mkOption { type = types.attrsOf (types.submodule userModule); default = { }; };
    groups = mkOption { type = types.attrsOf (types.submodule groupModule); default = { }; };
  };

  config = {
    users.users.root = { uid = 0; group = "root"; home = "/root"; description = "System administrator"; };
    users.users.nobody = { uid = 65534; group = "nogroup"; isSystemUser = true; };
    users.groups = {
      root.gid = 0;
      wheel.gid = 1;
      users.gid = 100;
      nogroup.gid = 65534;
    };

    assertions = lib.mapAttrsToList
      (name: u: {
        assertion = cfg.groups ? ${u.group};
        message = "users.users.${name}.group = \"${u.group}\" is not a defined group.";
      })
      cfg.users;

    environment.etc.passwd.text = lib.concatMapStringsSep "\n"
      (u: "${u.name}:x:${toString uids.${u.name}}:${toString gids.${u.group}}:${u.description}:${u.home}:${u.shell}")
      (lib.sort (a: b: uids.${a.name} < uids.${b.name}) (lib.attrValues cfg.users));

    environment.etc.group.text = lib.concatMapStringsSep "\n"
      (g: "${g.name}:x:${toString gids.${g.name}}:${lib.concatStringsSep "," (membersOf g)}")
      (lib.sort (a: b: gids.${a.name} < gids.${b.name}) (lib.attrValues cfg.groups));

    system.activationScripts.users = "# ${toString (lib.length (lib.attrNames cfg.users))} users, ${toString (lib.length (lib.attrNames cfg.groups))} groups";
  };
}
