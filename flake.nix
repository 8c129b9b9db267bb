{
  description = "nixperf: performance analyzer for Nix (evaluation profiler plugin, reports, flamegraphs)";

  inputs = {
    # Rust toolchain and everything else.
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    # The plugin must be built against the Nix it is loaded into. Its shims cover Nix 2.8 so far
    # (see README, "Nix versions"); NixOS 22.05 ships Nix 2.8.1.
    nixpkgs-nix28.url = "github:NixOS/nixpkgs/nixos-22.05";
  };

  outputs = { self, nixpkgs, nixpkgs-nix28 }:
    let
      systems = [ "x86_64-linux" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f system);
      pkgsFor = system: nixpkgs.legacyPackages.${system};
      nixFor = system: nixpkgs-nix28.legacyPackages.${system}.nix;

      nixperfFor = system:
        let
          pkgs = pkgsFor system;
          nix = nixFor system;
        in
        pkgs.rustPlatform.buildRustPackage {
          pname = "nixperf";
          version = (builtins.fromTOML (builtins.readFile ./Cargo.toml)).package.version;
          src = self;
          cargoLock.lockFile = ./Cargo.lock;
          nativeBuildInputs = [ pkgs.pkg-config ];
          # build.rs finds the headers through nix-expr.pc (nixpkgs installs them with config.h).
          buildInputs = [ nix.dev pkgs.boehmgc.dev pkgs.boost.dev pkgs.nlohmann_json ];
          # The integration tests need a writable /nix/store; the unit tests run here.
          cargoTestFlags = [ "--lib" ];
          postInstall = ''
            mkdir -p $out/lib/nixperf $out/share/nixperf
            mv $out/lib/libnixperf.so $out/lib/nixperf/
            install -Dm755 scripts/ci-compare.sh $out/bin/nixperf-ci-compare
            cp justfile $out/share/nixperf/justfile
          '';
          meta = {
            description = "Performance analyzer for Nix evaluations";
            mainProgram = "nixperf";
            platforms = systems;
          };
        };
    in
    {
      packages = forAll (system: rec {
        nixperf = nixperfFor system;
        default = nixperf;
      });

      apps = forAll (system: {
        default = {
          type = "app";
          program = "${self.packages.${system}.default}/bin/nixperf";
        };
      });

      devShells = forAll (system:
        let pkgs = pkgsFor system; nix = nixFor system; in {
          default = pkgs.mkShell {
            inputsFrom = [ self.packages.${system}.default ];
            packages = [ pkgs.cargo pkgs.rustc pkgs.clippy pkgs.rustfmt pkgs.valgrind pkgs.hyperfine nix ];
          };
        });

      # The module wants only `package` from the flake; the rest is in nixos/module.nix.
      nixosModules.default = { pkgs, lib, ... }: {
        imports = [ ./nixos/module.nix ];
        services.nixperf.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
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
