#!/usr/bin/env bash
# Provision a fresh Debian bookworm machine for nixperf: Debian's Nix (nix-bin), the headers of
# the *same* Nix version from Debian's source package, Nix 2.8's config.h, and what the headers
# need. Idempotent: a second run only checks. Nothing is downloaded from outside Debian.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export DEBIAN_FRONTEND=noninteractive
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"

need_pkgs=(nix-bin libgc-dev libboost-dev nlohmann-json3-dev pkg-config dpkg-dev g++ valgrind hyperfine xz-utils python3 prometheus prometheus-node-exporter chromium debootstrap patchelf)
missing=()
for p in "${need_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done

# deb-src must be enabled for `apt-get source nix`.
if ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  suite=$(. /etc/os-release; echo "${VERSION_CODENAME:-bookworm}")
  $sudo tee /etc/apt/sources.list.d/nixperf-deb-src.sources >/dev/null <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  updated=0
else
  updated=1
fi
if [ ${#missing[@]} -gt 0 ] || [ "$updated" = 0 ]; then
  $sudo apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# `just` for the justfile's test: Debian bookworm has none; PyPI's rust-just is the upstream
# binary, packaged.
if ! command -v just >/dev/null 2>&1 && ! python3 -c 'import sysconfig,os,sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("scripts"),"just")))' 2>/dev/null; then
  echo "setup: installing just (PyPI rust-just)"
  python3 -m pip install --quiet --disable-pip-version-check rust-just 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages rust-just
fi

version=$(PKG_CONFIG_PATH=/usr/lib/nix/pkgconfig pkg-config --modversion nix-expr)
hdr="$root/.nix-headers/$version"
src="$root/.nix-src"
if [ ! -f "$hdr/nix/config.h" ] || [ ! -d "$src/nix-$version/tests/lang" ]; then
  echo "setup: fetching Debian's source package of nix $version for its headers and language tests"
  mkdir -p "$src"
  (cd "$src" && apt-get source -qq "nix=$(dpkg-query -W -f='${Version}' nix-bin)" >/dev/null 2>&1 || (cd "$src" && apt-get source -qq nix >/dev/null))
  tree="$src/nix-$version"
  [ -d "$tree/src/libexpr" ] || { echo "setup: nix-$version source tree not found under $src" >&2; exit 1; }
  rm -rf "$hdr"; mkdir -p "$hdr/nix"
  for d in "$tree"/src/lib*/; do
    find "$d" -maxdepth 1 -name '*.hh' -exec cp {} "$hdr/nix/" \;
  done
  # Nix 2.8 headers expect configure's config.h forced in (it sits beside them, as in nixpkgs'
  # nix.dev). These are the values Debian's build uses: Boehm GC on (it changes struct
  # layouts), S3 off.
  cat > "$hdr/nix/config.h" <<CFG
/* config.h for Debian's nix $version, written by nixperf's setup script */
#define HAVE_BOEHMGC 1
#define HAVE_STRUCT_DIRENT_D_TYPE 1
#define ENABLE_S3 0
#define SYSTEM "x86_64-linux"
#define PACKAGE_VERSION "$version"
CFG
fi
echo "setup: nix $(nix-instantiate --version | awk '{print $NF}'), headers in $hdr"
# Debian sid's nix-bin 2.34 (statically linked Nix, no plugin can load): nixperf's fallback tests.
echo "setup: Debian's nix-bin from sid in $("$root/scripts/debian-nix-bin.sh" sid 2>/dev/null)"

# Rust toolchain: present on the machines we run on; say so plainly if not.
command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust (rustup) first" >&2; exit 1; }
