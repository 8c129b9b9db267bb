#!/usr/bin/env bash
# Provision Debian's own nix-bin of a newer suite (sid: 2.34.8, trixie: 2.26.3) in a private
# folder, for the tests of `nixperf eval`'s fallback: these builds link Nix's libraries
# statically and export no Nix symbols, so no plugin can load into them.
#
#   scripts/debian-nix-bin.sh [--dir DIR] [SUITE]     (SUITE: sid (default) or trixie)
#
# The .debs come from Debian's mirror through a private apt state (the machine's apt sources
# are untouched): nix-bin and the shared libraries it needs from the same suite, unpacked with
# dpkg -x into DIR/debian-SUITE/root. bin/nix is a copy patched (patchelf) to use that root's
# dynamic loader and libraries, so it runs on this older host; nix-instantiate etc. link to it.
# etc/nix/nix.conf points the store at a chroot store of its own (never the machine's /nix):
# `nixperf eval --nix DIR/debian-SUITE` uses the prefix's etc/nix (NIX_CONF_DIR).
# Prints the prefix. A second run only checks (cached by a marker).
set -euo pipefail
dir=${NIXPERF_NIX_CACHE:-/var/cache/nixperf-nix}
suite=sid
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    sid|trixie) suite=$1; shift ;;
    *) echo "debian-nix-bin: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$dir"; dir=$(realpath "$dir")
prefix=$dir/debian-$suite
if [ -f "$prefix/.nixperf-ready" ]; then echo "$prefix"; exit 0; fi
command -v patchelf >/dev/null || apt-get install -y -qq patchelf >/dev/null

apt=$dir/apt-$suite
mkdir -p "$apt/state/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" > "$apt/sources.list"
A=(-o "Dir::State=$apt/state" -o "Dir::Cache=$apt/cache" -o "Dir::Etc::SourceList=$apt/sources.list"
   -o Dir::Etc::SourceParts=/dev/null -o Dir::Etc::Preferences=/dev/null
   -o Dir::Etc::PreferencesParts=/dev/null -o Acquire::Check-Valid-Until=false
   -o APT::Sandbox::User=root -o APT::Architecture=amd64)
apt-get "${A[@]}" update -qq >/dev/null
# nix-bin's dependency closure, shared libraries only (perl, curl, … are not needed to evaluate).
pkgs=$(apt-cache "${A[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
         --no-breaks --no-replaces --no-enhances nix-bin \
       | grep -v '^[ <]' | sort -u | grep '^lib' | grep -v -e perl -e '^libpam' -e '^libsemanage' \
         -e '^libdebian' -e '^libdb5' -e '^libgdbm' -e '^libnewt' -e '^libslang' -e '^libtextwrap' \
         -e '^libaudit' -e '^libcap-ng' -e '^libsepol')
(cd "$apt/debs" && apt-get "${A[@]}" download -qq nix-bin $pkgs >/dev/null)
rm -rf "$prefix"; mkdir -p "$prefix/root" "$prefix/bin" "$prefix/etc/nix" "$prefix/store-root"
for d in "$apt/debs"/*.deb; do dpkg -x "$d" "$prefix/root"; done
lib=$prefix/root/usr/lib/x86_64-linux-gnu
cp "$prefix/root/usr/bin/nix" "$prefix/bin/nix"
patchelf --set-interpreter "$lib/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$lib" "$prefix/bin/nix"
for n in nix-instantiate nix-build nix-store nix-env nix-shell nix-hash nix-channel nix-collect-garbage; do
  ln -sf nix "$prefix/bin/$n"
done
cat > "$prefix/etc/nix/nix.conf" <<CONF
store = local?root=$prefix/store-root
build-users-group =
substituters =
sandbox = false
CONF
NIX_CONF_DIR=$prefix/etc/nix "$prefix/bin/nix-instantiate" --eval -E '1 + 1' >/dev/null \
  || { echo "debian-nix-bin: $prefix/bin/nix-instantiate does not run" >&2; exit 1; }
"$prefix/bin/nix" --version > "$prefix/.nixperf-ready"
echo "debian-nix-bin: $(cat "$prefix/.nixperf-ready") from Debian $suite in $prefix ($(du -sh "$prefix" | cut -f1))" >&2
echo "$prefix"
