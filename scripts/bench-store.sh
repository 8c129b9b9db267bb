#!/usr/bin/env bash
# Store-analysis time of `nixperf store` on a generated Nix store DB of 100k paths (target ≤ 1 s).
# The DB has Nix 2.8's schema, ~8 references per path (a random DAG), a derivation for every
# third path with its DerivationOutputs row, 4 profile generations and 50 result-style roots.
# Usage: scripts/bench-store.sh [PATHS]   (needs target/release/nixperf and python3)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
BIN=target/release/nixperf
[ -x "$BIN" ] || cargo build --release --bin nixperf
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python3 - "$T" "$N" <<'PY'
import os, random, sqlite3, sys, time
root, n = sys.argv[1], int(sys.argv[2])
random.seed(1)
alpha = "0123456789abcdfghijklmnpqrsvwxyz"
store = f"{root}/store"
os.makedirs(f"{root}/var/db"); os.makedirs(f"{root}/var/gcroots/auto"); os.makedirs(f"{root}/var/profiles")
db = sqlite3.connect(f"{root}/var/db/db.sqlite")
db.executescript("""
PRAGMA journal_mode=WAL;
CREATE TABLE ValidPaths (id integer primary key autoincrement not null, path text unique not null,
  hash text not null, registrationTime integer not null, deriver text, narSize integer,
  ultimate integer, sigs text, ca text);
CREATE TABLE Refs (referrer integer not null, reference integer not null, primary key (referrer, reference));
CREATE INDEX IndexReferrer on Refs(referrer);
CREATE INDEX IndexReference on Refs(reference);
CREATE TABLE DerivationOutputs (drv integer not null, id text not null, path text not null, primary key (drv, id));
CREATE INDEX IndexDerivationOutputs on DerivationOutputs(path);
""")
now = int(time.time())
paths = []
for i in range(n):
    h = "".join(random.choice(alpha) for _ in range(32))
    paths.append(f"{store}/{h}-pkg{i}" + (".drv" if i % 3 == 2 else ""))
rows = []
for i, p in enumerate(paths):
    deriver = paths[i + 2] if i % 3 == 0 and i + 2 < n else None
    rows.append((i + 1, p, "sha256:" + "0" * 52, now - random.randint(0, 90 * 86400), deriver,
                 random.randint(1000, 5_000_000)))
db.executemany("INSERT INTO ValidPaths (id, path, hash, registrationTime, deriver, narSize) VALUES (?,?,?,?,?,?)", rows)
refs = set()
for i in range(1, n):
    for _ in range(random.randint(0, 16)):
        j = random.randint(max(0, i - 5000), i - 1)
        refs.add((i + 1, j + 1))
db.executemany("INSERT INTO Refs VALUES (?,?)", sorted(refs))
db.executemany("INSERT INTO DerivationOutputs VALUES (?,?,?)",
               [(i + 1, "out", paths[i - 2]) for i in range(2, n, 3)])
db.commit(); db.close()
prof = f"{root}/var/profiles"
for g, age in [(1, 60), (2, 40), (3, 10), (4, 0)]:
    link = f"{prof}/system-{g}-link"
    os.symlink(paths[n - 1 - 3 * g], link)
    os.utime(link, (now - age * 86400,) * 2, follow_symlinks=False)
os.symlink("system-4-link", f"{prof}/system")
os.makedirs(f"{root}/results")
for r in range(50):
    res = f"{root}/results/result-{r}"
    os.symlink(paths[n // 2 + r * 7], res)
    os.symlink(res, f"{root}/var/gcroots/auto/{r:032d}")
print(f"generated {n} paths, {len(refs)} references in {root}/var/db/db.sqlite")
PY
run() {
  local s e
  s=$(date +%s.%N)
  "$BIN" store --store-dir "$T/store" --state-dir "$T/var" "$@" --json > "$T/out.json"
  e=$(date +%s.%N)
  python3 - "$T/out.json" "$s" "$e" "$*" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
wall = float(sys.argv[3]) - float(sys.argv[2])
gc = next(c for c in r["commands"] if c["command"] == "nix-store --gc")
print(f"nixperf store {sys.argv[4]}: {r['paths']} paths, wall {wall*1000:.0f} ms "
      f"(DB read {r['db_read_ms']:.0f} ms, analysis {r['analysis_ms']:.0f} ms); gc would delete {gc['paths_deleted']} paths")
PY
}
# DB + roots + graph only (what the 1 s target is about); files of generated paths do not exist.
run --dedup off --no-files --keep-derivations true --keep-outputs false
run --dedup off --no-files --keep-derivations true --keep-outputs false
# Default options (runtime roots from /proc, nix show-config for keep-*, stat of dead paths).
run --dedup off
