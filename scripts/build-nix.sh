#!/usr/bin/env bash
# Build current Nix with shared libraries (as nixpkgs does), so that the nixperf plugin can load
# into it. Each version is built in a minimal debootstrap chroot of its Debian suite, with that
# suite's compiler and `apt-get build-dep nix`, into a prefix of its own with a store and state of
# its own (never the machine's /nix). The installed binaries are patched (patchelf) to use the
# chroot's dynamic loader and libraries, so they run on the host without entering the chroot.
#
#   scripts/build-nix.sh [--dir DIR] [--src TARBALL|DIR] [--jobs N] VERSION...
#     VERSION   2.26  (Debian trixie's source package, 2.26.3)
#               2.34  (sid; ../shared/nix-src/nix-2.34.8.tar.xz unless --src)
#     --dir     cache directory (default $NIXPERF_NIX_CACHE or /var/cache/nixperf-nix)
#     --src     another source tarball or tree for the versions given
#     --print-prefix   only print the prefix of a finished build (exit 1 if not built)
#
# Layout: DIR/chroot-SUITE (build chroot), DIR/nix-VERSION (prefix: bin/, lib/, include/, and
# store/, var/, etc/ of its own; compiled in, so no environment is needed at run time),
# DIR/nix-VERSION/.nixperf-built (the cache marker: a second run takes seconds).
# Needs root (debootstrap, chroot, mounts). Only Debian's mirrors are contacted.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${NIXPERF_NIX_CACHE:-/var/cache/nixperf-nix}
src_override=""
jobs=$(nproc)
print_prefix=0
versions=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    --src) src_override=$(realpath "$2"); shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --print-prefix) print_prefix=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    2.26|2.34) versions+=("$1"); shift ;;
    *) echo "build-nix: unknown argument $1 (versions: 2.26 2.34)" >&2; exit 2 ;;
  esac
done
[ ${#versions[@]} -gt 0 ] || versions=(2.26)
mkdir -p "$dir"
dir=$(realpath "$dir")
export DEBIAN_FRONTEND=noninteractive
mirror=http://deb.debian.org/debian

suite_of() { case "$1" in 2.26) echo trixie ;; 2.34) echo sid ;; esac; }
now() { date +%s; }
human() { du -sh "$1" 2>/dev/null | cut -f1; }

mounted=()
cleanup() {
  local i
  for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() { # bind SRC DST
  mkdir -p "$2"
  mountpoint -q "$2" || { mount --bind "$1" "$2"; mounted+=("$2"); }
}

# A minimal chroot of SUITE with nix's build dependencies; cached by a marker file.
make_chroot() {
  local suite=$1 ch=$dir/chroot-$1
  if [ -f "$ch/.nixperf-ready" ]; then return; fi
  local t0; t0=$(now)
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap patchelf >/dev/null
  if [ ! -x "$ch/usr/bin/apt-get" ]; then
    echo "build-nix: debootstrap --variant=minbase $suite $ch"
    debootstrap --variant=minbase "$suite" "$ch" "$mirror" >"$dir/debootstrap-$suite.log" 2>&1 \
      || { echo "build-nix: debootstrap failed, see $dir/debootstrap-$suite.log" >&2; exit 1; }
  fi
  cat > "$ch/etc/apt/sources.list" <<SRC
deb $mirror $suite main
deb-src $mirror $suite main
SRC
  mount_chroot "$suite"
  echo "build-nix: apt-get build-dep nix in the $suite chroot"
  chroot "$ch" apt-get -o Acquire::Check-Valid-Until=false update -qq
  chroot "$ch" apt-get install -y -qq --no-install-recommends dpkg-dev ca-certificates xz-utils pkg-config >/dev/null
  chroot "$ch" apt-get build-dep -y -qq nix >/dev/null
  chroot "$ch" apt-get clean
  touch "$ch/.nixperf-ready"
  echo "build-nix: $suite chroot ready in $(( $(now) - t0 )) s ($(human "$ch"))"
}

mount_chroot() {
  local ch=$dir/chroot-$1
  bind /proc "$ch/proc"
  bind /dev "$ch/dev"
  bind /dev/pts "$ch/dev/pts"
  cp -L /etc/resolv.conf "$ch/etc/resolv.conf" 2>/dev/null || true
}

# The source tree of VERSION inside the chroot at /build/nix-VERSION.
fetch_source() {
  local v=$1 suite ch tree
  suite=$(suite_of "$v"); ch=$dir/chroot-$suite; tree=$ch/build/nix-$v
  [ -f "$tree/meson.build" ] && return
  rm -rf "$tree"; mkdir -p "$tree"
  local src=$src_override
  if [ -z "$src" ] && [ "$v" = 2.34 ]; then src=$(realpath "$root/../shared/nix-src/nix-2.34.8.tar.xz" 2>/dev/null || true); fi
  if [ -n "$src" ]; then
    if [ -d "$src" ]; then cp -a "$src/." "$tree/"; else
      # `git archive` tarballs have no top directory, release tarballs have one.
      tar -xf "$src" -C "$tree"
      if [ ! -f "$tree/meson.build" ] && [ "$(ls -A "$tree" | wc -l)" = 1 ]; then
        local top; top=$(ls -A "$tree"); mv "$tree/$top" "$tree.tmp"; rmdir "$tree"; mv "$tree.tmp" "$tree"
      fi
    fi
  else
    # trixie's source package (apt-get source works there).
    chroot "$ch" sh -c "mkdir -p /build/src && cd /build/src && apt-get source -qq nix >/dev/null 2>&1"
    local unpacked; unpacked=$(find "$ch/build/src" -maxdepth 1 -type d -name 'nix-2*' | head -n1)
    [ -n "$unpacked" ] || { echo "build-nix: apt-get source nix gave no tree" >&2; exit 1; }
    cp -a "$unpacked/." "$tree/"
  fi
  [ -f "$tree/meson.build" ] || { echo "build-nix: $tree has no meson.build (not a Nix >= 2.26 tree?)" >&2; exit 1; }
}

build_version() {
  local v=$1 suite ch prefix t0
  suite=$(suite_of "$v"); ch=$dir/chroot-$suite; prefix=$dir/nix-$v
  if [ -f "$prefix/.nixperf-built" ]; then
    echo "build-nix: nix $v cached in $prefix ($(human "$prefix")); $(cat "$prefix/.nixperf-built")"
    return
  fi
  t0=$(now)
  make_chroot "$suite"
  mount_chroot "$suite"
  fetch_source "$v"
  # The prefix has the same path inside the chroot and on the host.
  mkdir -p "$prefix"
  bind "$prefix" "$ch$prefix"
  local extra=""
  # 2.34's CLI (subproject nix) asserts that its localstatedir equals libstore's.
  [ "$v" = 2.34 ] && extra="-Djson-schema-checks=false -Dlocalstatedir=$prefix/var -Dnix:localstatedir=$prefix/var"
  echo "build-nix: building nix $v in the $suite chroot (log: $dir/build-$v.log)"
  # Only what the plugin and nix / nix-instantiate need: the libraries, the CLI, headers and
  # pkg-config files; no docs, tests, perl or language bindings.
  chroot "$ch" sh -ec "
    cd /build/nix-$v
    [ -f build/build.ninja ] || meson setup build --prefix=$prefix --buildtype=release \
      -Ddefault_library=shared -Ddoc-gen=false -Dbindings=false -Dunit-tests=false \
      -Dlibexpr:gc=enabled -Dlibcmd:readline-flavor=readline \
      -Dlibstore:store-dir=$prefix/store -Dlibstore:localstatedir=$prefix/var -Dlibstore:log-dir=$prefix/var/log/nix \
      -Dlibstore:sysconfdir=$prefix/etc $extra
    ninja -C build -j $jobs
    ninja -C build install >/dev/null
  " >"$dir/build-$v.log" 2>&1 || { echo "build-nix: nix $v build failed; tail of $dir/build-$v.log:" >&2; tail -n 30 "$dir/build-$v.log" >&2; exit 1; }
  relocate "$v"
  mkdir -p "$prefix/store" "$prefix/var/nix" "$prefix/etc/nix"
  # No build users on a test machine; no network: never wait for cache.nixos.org.
  cat > "$prefix/etc/nix/nix.conf" <<CONF
build-users-group =
substituters =
sandbox = false
CONF
  local secs=$(( $(now) - t0 ))
  "$prefix/bin/nix" --version >/dev/null || { echo "build-nix: $prefix/bin/nix does not run" >&2; exit 1; }
  echo "built $(date -u +%FT%TZ) in $secs s, $("$prefix/bin/nix" --version)" > "$prefix/.nixperf-built"
  echo "build-nix: nix $v built in $secs s into $prefix ($(human "$prefix"); chroot $(human "$ch"))"
}

# Make the installed ELF files run on the host: the chroot's loader as interpreter, the prefix's
# and the chroot's library directories as DT_RPATH (unlike RUNPATH it also serves the libraries'
# own dependencies, and it takes precedence over the host's ld.so.cache). Symlinks inside the chroot are absolute, so resolve them through the chroot.
relocate() {
  local v=$1 suite ch prefix interp libdirs f
  suite=$(suite_of "$v"); ch=$dir/chroot-$suite; prefix=$dir/nix-$v
  interp=$ch$(chroot "$ch" readlink -f /lib64/ld-linux-x86-64.so.2)
  libdirs="$prefix/lib/x86_64-linux-gnu:$prefix/lib:$ch/usr/lib/x86_64-linux-gnu:$ch/lib/x86_64-linux-gnu"
  while IFS= read -r f; do
    head -c 4 "$f" | grep -q 'ELF' || continue
    if patchelf --print-interpreter "$f" >/dev/null 2>&1; then
      patchelf --set-interpreter "$interp" "$f"
    fi
    patchelf --force-rpath --set-rpath "$libdirs" "$f"
  done < <(find "$prefix/bin" "$prefix/lib" "$prefix/libexec" -type f 2>/dev/null)
}

for v in "${versions[@]}"; do
  if [ "$print_prefix" = 1 ]; then
    [ -f "$dir/nix-$v/.nixperf-built" ] && { echo "$dir/nix-$v"; continue; } || exit 1
  fi
  build_version "$v"
done
