#!/usr/bin/env bash
# The machine's own Nix must come out of the test suite unchanged (issue #18): scripts/test.sh
# takes a snapshot of it before the tests and compares after all of them (the 2.26 step and
# every other Nix the suite builds or runs included).
#
#   scripts/host-nix-guard.sh snapshot FILE   write the snapshot to FILE
#   scripts/host-nix-guard.sh check FILE      compare the machine with FILE; exit 1 on any change
#
# The snapshot: the SHA-256 of /nix/var/nix/db/db.sqlite (the bytes of the file) and of its
# -wal file if there is one, the SHA-256 of its logical content (`sqlite3 -readonly .dump`, so
# a change still in the WAL counts too), the number of ValidPaths rows, and the listing of
# /nix/var/nix/gcroots and /nix/var/nix/profiles (every entry with its type and link target).
# Environment: NIXPERF_HOST_NIX_STATE (default /nix/var/nix), for testing this script.
set -euo pipefail
state=${NIXPERF_HOST_NIX_STATE:-/nix/var/nix}
db=$state/db/db.sqlite

snapshot() {
  if [ -f "$db" ]; then
    echo "db.sqlite sha256 $(sha256sum <"$db" | cut -d' ' -f1)"
    [ -s "$db-wal" ] && echo "db.sqlite-wal sha256 $(sha256sum <"$db-wal" | cut -d' ' -f1)"
    if command -v sqlite3 >/dev/null; then
      echo "db.sqlite dump sha256 $(sqlite3 -readonly "$db" .dump | sha256sum | cut -d' ' -f1)"
      echo "db.sqlite ValidPaths rows $(sqlite3 -readonly "$db" 'SELECT count(*) FROM ValidPaths')"
    fi
  else
    echo "db.sqlite absent"
  fi
  local d
  for d in gcroots profiles; do
    if [ -d "$state/$d" ]; then
      (cd "$state" && find "$d" -printf '%y %p -> %l\n' | LC_ALL=C sort)
    else
      echo "$d absent"
    fi
  done
}

case "${1:-}" in
  snapshot)
    [ $# = 2 ] || { echo "usage: $0 snapshot FILE" >&2; exit 2; }
    snapshot >"$2"
    echo "host-nix-guard: snapshot of the machine's Nix ($state): $(head -n 1 "$2"), $(grep -c -- ' -> ' "$2" || true) entries in gcroots/ and profiles/"
    ;;
  check)
    [ $# = 2 ] || { echo "usage: $0 check FILE" >&2; exit 2; }
    now=$(mktemp); trap 'rm -f "$now"' EXIT
    snapshot >"$now"
    if diff -u "$2" "$now" >/dev/null; then
      echo "host-nix-guard: the machine's Nix is unchanged ($state: db.sqlite, gcroots/, profiles/)"
    else
      echo "host-nix-guard: FAILED: the test suite changed the machine's Nix ($state):" >&2
      diff -u "$2" "$now" >&2 || true
      if command -v sqlite3 >/dev/null && [ -f "$db" ]; then
        echo "host-nix-guard: the newest ValidPaths rows of $db:" >&2
        sqlite3 -readonly "$db" 'SELECT id, path FROM ValidPaths ORDER BY id DESC LIMIT 10' >&2 || true
      fi
      exit 1
    fi
    ;;
  *) sed -n '2,14p' "$0"; exit 2 ;;
esac
