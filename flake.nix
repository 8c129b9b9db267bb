{
  description = "nixperf: performance analyzer for Nix (evaluation profiler plugin, reports, flamegraphs)";

  # The plugin is compiled against the `nix` of this nixpkgs (a C++ plugin only loads into the
  # Nix release it was built for). Make it yours with
  #   inputs.nixperf.inputs.nixpkgs.follows = "nixpkgs";
  # so that packages.default matches the Nix your system runs.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [ "x86_64-linux" ];
      forAll = lib.genAttrs systems;
      pkgsFor = system: nixpkgs.legacyPackages.${system};

      # The package, overridable: nixperf.override { nix = pkgs.nixVersions.nix_2_31; }.
      nixperfFor = pkgs: pkgs.callPackage ./nix/package.nix { src = self; };

      # The Nix releases of this nixpkgs' `nixVersions` (nix_2_28, nix_2_31, …, latest) from
      # 2.26 on (the plugin's shims start there, besides 2.8). Names nixpkgs keeps only as
      # throwing aliases of removed releases are skipped.
      nixVersionsOf = pkgs:
        let
          all = pkgs.nixVersions or { };
          usable = n: let r = builtins.tryEval (all.${n}.version or null); in r.success && r.value != null;
          minor = n: builtins.match "nix_2_([0-9]+)" n;
          wanted = n: n == "latest" || (minor n != null && lib.toInt (builtins.head (minor n)) >= 26);
        in
        lib.filter (n: wanted n && usable n) (builtins.attrNames all);
      outputName = n: "nixperf-for-${if n == "latest" then "nix-latest" else n}";
    in
    {
      packages = forAll (system:
        let
          pkgs = pkgsFor system;
          nixperf = nixperfFor pkgs;
        in
        {
          inherit nixperf;
          default = nixperf;
        }
        // lib.listToAttrs (map
          (n: lib.nameValuePair (outputName n) (nixperf.override { nix = pkgs.nixVersions.${n}; }))
          (nixVersionsOf pkgs)));

      apps = forAll (system: {
        default = {
          type = "app";
          program = "${self.packages.${system}.default}/bin/nixperf";
        };
      });

      devShells = forAll (system:
        let pkgs = pkgsFor system; in {
          default = pkgs.mkShell {
            inputsFrom = [ self.packages.${system}.default ];
            packages = [ pkgs.cargo pkgs.rustc pkgs.clippy pkgs.rustfmt pkgs.valgrind pkgs.hyperfine pkgs.nix ];
          };
        });

      # The module wants only `package` from the flake; the rest is in nixos/module.nix. Its
      # default is the flake's package with the plugin built against the Nix the system runs
      # (`nix.package`); Lix cannot load the plugin, so there it is the flake's default package.
      nixosModules.default = { config, pkgs, lib, ... }:
        let
          default = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
          nix = config.nix.package;
        in
        {
          imports = [ ./nixos/module.nix ];
          services.nixperf.package = lib.mkDefault
            (if (nix.pname or "") == "lix" then default else default.override { inherit nix; });
        };

      checks = forAll (system: {
        default = self.packages.${system}.default;
        # A whole NixOS system with the module enabled must build (container: no kernel).
        nixos-module = (nixpkgs.lib.nixosSystem {
          inherit system;
          modules = [
            self.nixosModules.default
            {
              boot.isContainer = true;
              system.stateVersion = "24.11";
              services.nixperf = { enable = true; schedule = "weekly"; };
            }
          ];
        }).config.system.build.toplevel;
      });
    };
}
