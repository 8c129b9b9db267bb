#!/usr/bin/env bash
# Build current Nix with shared libraries (as nixpkgs does), so that the nixperf plugin can load
# into it. Each version is built in a minimal debootstrap chroot of its Debian suite, with that
# suite's compiler and `apt-get build-dep nix`, into a prefix of its own with a store and state of
# its own (never the machine's /nix). The installed binaries are patched (patchelf) to use the
# chroot's dynamic loader and libraries, so they run on the host without entering the chroot.
#
#   scripts/build-nix.sh [--dir DIR] [--src TARBALL|DIR] [--jobs N] [--configure-only] VERSION...
#   scripts/build-nix.sh [--dir DIR] --remove-stray-host-rows
#     VERSION   2.26  (Debian trixie's source package, 2.26.3; trixie chroot)
#               2.27, 2.28 (trixie chroot), 2.29 … 2.35 (sid chroot): the newest tarball
#               ../shared/nix-src/nix-2.MINOR.*.tar.xz unless --src. Runtime-tested: 2.26, 2.28,
#               2.31, 2.34, 2.35; the others are built for compile coverage only.
#     --dir     cache directory (default $NIXPERF_NIX_CACHE or /var/cache/nixperf-nix)
#     --src     another source tarball or tree for the versions given
#     --print-prefix   only print the prefix of a finished build (exit 1 if not built)
#     --print-suite    only print the Debian suite whose chroot builds VERSION
#     --configure-only only `meson setup` (DIR/chroot-SUITE/build/nix-VERSION/build): the
#               generated headers, for scripts/check-plugin-compiles.sh; seconds, not a build
#     --remove-stray-host-rows  delete from the machine's /nix/var/nix/db/db.sqlite the
#               registrations of paths under DIR/nix-*/ (ValidPaths rows and their Refs and
#               DerivationOutputs), which builds of this script before the fix of issue #18 left
#               there; prints every row first; under the host's big-lock. Nothing else is done.
#
# Isolation from the machine's Nix (issue #18): store, state (database, GC roots, profiles,
# temproots, daemon socket), logs and configuration of a built Nix are all under its prefix,
# passed at configure time. In Nix >= 2.26 the state directory is Meson's *built-in*
# `localstatedir` (NIX_STATE_DIR = localstatedir/nix), whose default every Nix subproject sets
# to /nix/var in its project(); the configuration directory is the built-in `sysconfdir`
# (NIX_CONF_DIR = sysconfdir/nix, default /etc/nix); store and log dir are libstore's own
# options `store-dir` and `log-dir`. The values the build really compiled in are read back
# from the configured tree (2.26: compiler -D flags in compile_commands.json; >= 2.27:
# config-store-private.hh) and must lie under the prefix, and after the build a probe
# evaluation that writes a derivation runs under strace: any file under /nix or /etc/nix it
# touches fails the build.
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
configure_only=0
print_suite=0
remove_stray=0
versions=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    --src) src_override=$(realpath "$2"); shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --print-prefix) print_prefix=1; shift ;;
    --configure-only) configure_only=1; shift ;;
    --print-suite) print_suite=1; shift ;;
    --remove-stray-host-rows) remove_stray=1; shift ;;
    -h|--help) sed -n '2,45p' "$0"; exit 0 ;;
    2.2[6-9]|2.3[0-5]) versions+=("$1"); shift ;;
    2.[0-9]*) echo "build-nix: Nix $1 is not supported (2.26 … 2.35; the newest supported is 2.35)" >&2; exit 2 ;;
    *) echo "build-nix: unknown argument $1 (versions: 2.26 … 2.35)" >&2; exit 2 ;;
  esac
done
if [ "$remove_stray" = 0 ]; then [ ${#versions[@]} -gt 0 ] || versions=(2.26); fi
mkdir -p "$dir"
dir=$(realpath "$dir")
# One script at a time uses the build chroots: each one unmounts on exit what it bind-mounted,
# which would pull /proc or the repository out from under another (seen: a plugin build beside
# check-plugin-compiles.sh failed the compile check). Nested calls inherit the lock.
if [ "$print_suite" = 0 ] && [ -z "${NIXPERF_CHROOT_LOCKED:-}" ]; then
  mkdir -p "$dir"; exec 9>"$dir/.chroot-lock"; flock 9; export NIXPERF_CHROOT_LOCKED=1
fi
export DEBIAN_FRONTEND=noninteractive
mirror=http://deb.debian.org/debian

# trixie's build dependencies (those of its Nix 2.26), g++ 14 and Boost 1.83 serve 2.26 … 2.31
# (the compiler nixpkgs built those with), plus libblake3 (2.27 on), which trixie lacks: sid's
# package (it needs only libc6 >= 2.14) is pinned into the trixie chroot. 2.32 needs
# Boost >= 1.87: sid's build dependencies (those of its Nix 2.34, g++ 16) from 2.32 on.
suite_of() { case "$1" in 2.2[6-9]|2.30|2.31) echo trixie ;; *) echo sid ;; esac; }
# The newest tarball of a minor version in ../shared/nix-src ("" if none).
tarball_of() { ls "$root"/../shared/nix-src/nix-"$1".*.tar.xz 2>/dev/null | sort -V | tail -n 1; }
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

# What Nix 2.27 … 2.31 need beyond trixie's build dependencies of its 2.26: libblake3 (from
# sid, pinned so that nothing else comes from sid), Boost.Iostreams (2.29 on), Boost.URL (2.31).
add_blake3() {
  local ch=$dir/chroot-$1
  [ "$1" = trixie ] || return 0
  [ -f "$ch/usr/include/blake3.h" ] && [ -e "$ch/usr/lib/x86_64-linux-gnu/libboost_iostreams.so" ] \
    && [ -e "$ch/usr/lib/x86_64-linux-gnu/libboost_url.so" ] && return 0
  echo "build-nix: libblake3-dev (from sid), libboost-iostreams-dev and libboost-url-dev into the trixie chroot"
  echo "deb $mirror sid main" > "$ch/etc/apt/sources.list.d/nixperf-sid-blake3.list"
  cat > "$ch/etc/apt/preferences.d/nixperf-sid-blake3" <<PIN
Package: *
Pin: release n=sid
Pin-Priority: 1

Package: libblake3-dev libblake3-0
Pin: release n=sid
Pin-Priority: 500
PIN
  mount_chroot "$1"
  chroot "$ch" apt-get -o Acquire::Check-Valid-Until=false update -qq
  chroot "$ch" apt-get install -y -qq --no-install-recommends libblake3-dev libboost-iostreams-dev libboost-url-dev >/dev/null
  chroot "$ch" apt-get clean
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
  if [ -z "$src" ] && [ "$v" != 2.26 ]; then
    src=$(tarball_of "$v")
    [ -n "$src" ] || { echo "build-nix: no source for Nix $v: ../shared/nix-src/nix-$v.*.tar.xz missing (or pass --src)" >&2; exit 1; }
    src=$(realpath "$src")
  fi
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

# The meson options of VERSION (source tree TREE), all paths under PREFIX. Options that a
# version does not have are left out (read from the tree's meson.options: 2.35 dropped
# `bindings`, 2.34 added `json-schema-checks`, 2.30 `benchmarks` …).
meson_args() {
  local tree=$1 prefix=$2 a
  a="--prefix=$prefix --buildtype=release -Ddefault_library=shared -Dunit-tests=false"
  a+=" -Dlibexpr:gc=enabled -Dlibcmd:readline-flavor=readline"
  has_opt() { grep -q "'$2'" "$tree/$1" 2>/dev/null; }
  has_opt meson.options doc-gen && a+=" -Ddoc-gen=false"
  has_opt meson.options bindings && a+=" -Dbindings=false"
  has_opt meson.options functional-tests && a+=" -Dfunctional-tests=false"
  has_opt meson.options benchmarks && a+=" -Dbenchmarks=false"
  has_opt meson.options json-schema-checks && a+=" -Djson-schema-checks=false"
  has_opt meson.options kaitai-struct-checks && a+=" -Dkaitai-struct-checks=false"
  # Store and log dir: libstore's own options (2.26 … 2.35 alike).
  a+=" -Dlibstore:store-dir=$prefix/store -Dlibstore:log-dir=$prefix/var/log/nix"
  # State and configuration: Meson's built-in localstatedir and sysconfdir, set globally. Not
  # per subproject: trixie's Meson 1.7 silently ignores -Dlibstore:localstatedir and
  # -Dlibstore:sysconfdir (the old flags: 2.26 got NIX_STATE_DIR=/nix/var/nix and
  # NIX_CONF_DIR=/etc/nix), and sid's Meson 1.12 turns -Dlibstore:sysconfdir into /etc/nix
  # (both measured with meson setup of 2.26.3, 2.34.8 and 2.35.2). 2.26 … 2.34's CLI asserts
  # that its localstatedir equals libstore's: the global value serves both.
  a+=" -Dlocalstatedir=$prefix/var -Dsysconfdir=$prefix/etc"
  echo "$a"
}

# The directories the configured tree compiles in (NIX_STORE_DIR, NIX_STATE_DIR, NIX_LOG_DIR,
# NIX_CONF_DIR) must all lie under PREFIX. 2.26 passes them as -D flags of the compiler
# (compile_commands.json), later versions write them into config-store-private.hh.
check_configured_dirs() {
  local v=$1 tree=$2 prefix=$3 bad=0 name val found
  for name in NIX_STORE_DIR NIX_STATE_DIR NIX_LOG_DIR NIX_CONF_DIR; do
    # `#define NIX_STATE_DIR "/x"` (config-store-private.hh) or `'-DNIX_STATE_DIR=\"/x\"'`
    # (compile_commands.json): the value runs from the first / to the next quote or backslash.
    val=$( { grep -rhoE "define $name .*" "$tree/build/src/libstore" --include='*.hh' --include='*.h' 2>/dev/null;
             grep -hoE -- "-D$name=[^ ]*" "$tree/build/compile_commands.json" 2>/dev/null; } \
           | sed -E 's|^[^/]*||; s|[\\"'"'"'].*$||' | sort -u)
    found=$(printf '%s\n' "$val" | grep -c . || true)
    if [ "$found" = 0 ]; then echo "build-nix: nix $v: $name not found in the configured tree" >&2; bad=1; continue; fi
    while IFS= read -r x; do
      case "$x" in "$prefix"/*) echo "build-nix: nix $v: $name = $x" ;;
        *) echo "build-nix: nix $v: $name = $x is outside $prefix (would use the machine's Nix)" >&2; bad=1 ;; esac
    done <<<"$val"
  done
  return $bad
}

configure_version() {
  local v=$1 suite ch prefix tree args
  suite=$(suite_of "$v"); ch=$dir/chroot-$suite; prefix=$dir/nix-$v; tree=$ch/build/nix-$v
  make_chroot "$suite"
  mount_chroot "$suite"
  [ "$v" = 2.26 ] || add_blake3 "$suite"
  fetch_source "$v"
  # The prefix has the same path inside the chroot and on the host.
  mkdir -p "$prefix"
  bind "$prefix" "$ch$prefix"
  args=$(meson_args "$tree" "$prefix")
  echo "build-nix: meson setup nix $v in the $suite chroot: $args" >>"$dir/build-$v.log"
  # A build dir configured with other options is wiped (Meson keeps options it is not given
  # again, e.g. per-subproject ones of older versions of this script).
  # (`meson setup --wipe` would keep them too: the directory goes.)
  local mode=""
  if [ -f "$tree/build/build.ninja" ]; then
    if [ "$(cat "$tree/build/.nixperf-meson-args" 2>/dev/null)" = "$args" ]; then mode=--reconfigure; else rm -rf "$tree/build"; fi
  fi
  chroot "$ch" sh -ec "cd /build/nix-$v && meson setup $mode build $args" >>"$dir/build-$v.log" 2>&1 \
    || { echo "build-nix: meson setup of nix $v failed; tail of $dir/build-$v.log:" >&2; tail -n 30 "$dir/build-$v.log" >&2; exit 1; }
  echo "$args" >"$tree/build/.nixperf-meson-args"
  check_configured_dirs "$v" "$tree" "$prefix" \
    || { echo "build-nix: nix $v is not configured to use only $prefix (see above)" >&2; exit 1; }
}

build_version() {
  local v=$1 suite ch prefix t0
  suite=$(suite_of "$v"); ch=$dir/chroot-$suite; prefix=$dir/nix-$v
  if [ "$configure_only" = 1 ]; then
    : >"$dir/build-$v.log"
    t0=$(now); configure_version "$v"
    echo "build-nix: nix $v configured in $(( $(now) - t0 )) s: $ch/build/nix-$v/build"
    return
  fi
  if [ -f "$prefix/.nixperf-built" ]; then
    echo "build-nix: nix $v cached in $prefix ($(human "$prefix")); $(cat "$prefix/.nixperf-built")"
    # A build made before the fix of #18 shares the machine's state: rebuild it (incremental).
    if probe_isolation "$v"; then return; fi
    echo "build-nix: nix $v in $prefix is not isolated: reconfiguring and rebuilding it"
    rm -f "$prefix/.nixperf-built"
  fi
  t0=$(now)
  : >"$dir/build-$v.log"
  configure_version "$v"
  echo "build-nix: building nix $v in the $suite chroot (log: $dir/build-$v.log)"
  # Only what the plugin and nix / nix-instantiate need: the libraries, the CLI, headers and
  # pkg-config files; no docs, tests, perl or language bindings.
  chroot "$ch" sh -ec "
    cd /build/nix-$v
    ninja -C build -j $jobs
    ninja -C build install >/dev/null
  " >>"$dir/build-$v.log" 2>&1 || { echo "build-nix: nix $v build failed; tail of $dir/build-$v.log:" >&2; tail -n 30 "$dir/build-$v.log" >&2; exit 1; }
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
  probe_isolation "$v" || exit 1
  echo "built $(date -u +%FT%TZ) in $secs s, $("$prefix/bin/nix" --version)" > "$prefix/.nixperf-built"
  echo "build-nix: nix $v built in $secs s into $prefix ($(human "$prefix"); chroot $(human "$ch"))"
}

# The self-check of isolation: an evaluation that writes a derivation into the store (so it
# opens the database, takes the big lock, registers a path, reads nix.conf) runs under strace;
# every file name it passes to the kernel must lie outside /nix and /etc/nix.
probe_isolation() {
  local v=$1 prefix=$dir/nix-$v out trace hits
  command -v strace >/dev/null || apt-get install -y -qq strace >/dev/null
  trace=$(mktemp); out=$(mktemp)
  if ! strace -f -qq -o "$trace" -e trace=%file,connect \
      "$prefix/bin/nix-instantiate" -E 'derivation { name = "nixperf-isolation-probe"; system = "x86_64-linux"; builder = "/bin/sh"; }' \
      >"$out" 2>"$out.err"; then
    cat "$out.err" >>"$out"
    echo "build-nix: nix $v: the isolation probe failed:" >&2; cat "$out" >&2; rm -f "$trace" "$out" "$out.err"; return 1
  fi
  case "$(cat "$out")" in "$prefix/store/"*.drv) ;; *)
    echo "build-nix: nix $v: the isolation probe wrote no derivation into $prefix/store: $(cat "$out")" >&2; rm -f "$trace" "$out" "$out.err"; return 1 ;; esac
  rm -f "$out.err"
  hits=$(grep -E '"/nix(/|")|"/etc/nix(/|")' "$trace" || true)
  local n; n=$(grep -c . "$trace" || true)
  rm -f "$trace" "$out"
  if [ -n "$hits" ]; then
    echo "build-nix: nix $v touches the machine's Nix (files under /nix or /etc/nix):" >&2
    printf '%s\n' "$hits" | head -n 20 >&2
    return 1
  fi
  echo "build-nix: nix $v isolated: a probe that writes a derivation made $n file system calls, none under /nix or /etc/nix"
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

# --remove-stray-host-rows: the registrations of this cache's paths in the machine's database.
remove_stray_host_rows() {
  local db=${NIXPERF_HOST_NIX_DB:-/nix/var/nix/db/db.sqlite}
  [ -f "$db" ] || { echo "build-nix: no $db: nothing to remove"; return; }
  command -v sqlite3 >/dev/null || apt-get install -y -qq sqlite3 >/dev/null
  # Paths of this cache's prefixes: DIR/nix-VERSION/store/… (LIKE with an escape for _ and %).
  local like; like=$(printf '%s' "$dir/nix-" | sed 's/[\\%_]/\\&/g')
  local sel="SELECT id FROM ValidPaths WHERE path LIKE '${like//\'/\'\'}%' ESCAPE '\\'"
  local n; n=$(sqlite3 -readonly "$db" "SELECT count(*) FROM ($sel)")
  if [ "$n" = 0 ]; then echo "build-nix: $db holds no path under $dir/nix-*: nothing to remove"; return; fi
  echo "build-nix: $n registration(s) of paths under $dir/nix-* in $db:"
  sqlite3 -readonly -separator ' ' "$db" "SELECT 'ValidPaths', id, path, hash, narSize FROM ValidPaths WHERE id IN ($sel) ORDER BY id"
  sqlite3 -readonly -separator ' ' "$db" "SELECT 'Refs', r.referrer, a.path, '->', b.path FROM Refs r JOIN ValidPaths a ON a.id = r.referrer JOIN ValidPaths b ON b.id = r.reference WHERE r.referrer IN ($sel) OR r.reference IN ($sel)"
  sqlite3 -readonly -separator ' ' "$db" "SELECT 'DerivationOutputs', drv, id, path FROM DerivationOutputs WHERE drv IN ($sel)"
  # Under the machine's big lock, as Nix itself writes the database.
  flock "$(dirname "$db")/big-lock" sqlite3 "$db" "PRAGMA foreign_keys = ON; BEGIN;
    DELETE FROM Refs WHERE referrer IN ($sel) OR reference IN ($sel);
    DELETE FROM DerivationOutputs WHERE drv IN ($sel);
    DELETE FROM ValidPaths WHERE id IN ($sel);
    COMMIT;"
  echo "build-nix: removed; $(sqlite3 -readonly "$db" "SELECT count(*) FROM ($sel)") left"
}

if [ "$remove_stray" = 1 ]; then
  remove_stray_host_rows
  [ ${#versions[@]} -gt 0 ] || exit 0
fi

for v in "${versions[@]}"; do
  if [ "$print_suite" = 1 ]; then suite_of "$v"; continue; fi
  if [ "$print_prefix" = 1 ]; then
    [ -f "$dir/nix-$v/.nixperf-built" ] && { echo "$dir/nix-$v"; continue; } || exit 1
  fi
  build_version "$v"
done
