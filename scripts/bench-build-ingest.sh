#!/usr/bin/env bash
# Build-profiler ingest throughput on a large generated internal-json log (target >= 200 MB/s).
# Usage: scripts/bench-build-ingest.sh [MB] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --locked --example bench_build_ingest -- "$@"
