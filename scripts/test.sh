#!/usr/bin/env bash
# The whole test suite: provision (first run only), then every test against the real nix with
# the real plugin: unit tests, nix-tests/ integration tests (fixtures, failures, Nix's own
# language tests as the non-interference oracle), and nixpkgs lib's module-system tests with
# the plugin loaded (when a nixpkgs lib/ is available: NIXPKGS_LIB or ../shared/nixpkgs-lib).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
./scripts/setup-debian.sh
cargo build --release --locked
cargo test --release --locked -- --test-threads 2
./scripts/nixpkgs-modules-oracle.sh
echo "test.sh: all tests passed"
