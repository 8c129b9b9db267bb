# nixperf recipes: the seed's workflow. Use them from your own justfile with
#   import "path/to/nixperf/justfile"     (the flake installs it as share/nixperf/justfile)
# and say what to evaluate with NIXPERF_FILE / NIXPERF_ATTR (or override the variables).

nixperf := env_var_or_default("NIXPERF", "nixperf")
# What to evaluate: a file or directory, and an attribute path in it.
file := env_var_or_default("NIXPERF_FILE", "nix-tests/example")
attr := env_var_or_default("NIXPERF_ATTR", "config")
# Where reports, flamegraphs and charts go.
out := env_var_or_default("NIXPERF_OUT", "nixperf-out")

# Profile the evaluation: slow-module table, flamegraph, folded stacks, Markdown report.
perf-test:
    {{nixperf}} eval -f {{file}} -A {{attr}} -o {{out}}/profile.db
    {{nixperf}} report {{out}}/profile.db -o {{out}}

# Record a run and mark it as the baseline (exports performance-baseline.json).
perf-baseline:
    {{nixperf}} eval -f {{file}} -A {{attr}} -o {{out}}/profile.db
    {{nixperf}} baseline -o {{out}}/performance-baseline.json

# Record a run and compare it with the baseline; exits 2 on a regression.
perf-compare:
    {{nixperf}} eval -f {{file}} -A {{attr}} -o {{out}}/profile.db
    {{nixperf}} compare --fail-on-regression --flamegraph {{out}}/flamegraph-diff.svg

# Trend of every recorded metric, with an SVG chart per metric.
perf-track:
    {{nixperf}} track --out-dir {{out}}/trends

# Build, store and settings analysis only: no evaluation instrumentation (seconds).
perf-quick:
    {{nixperf}} analyze --quick --out-dir {{out}}

# Everything, with the evaluation profile and its findings.
perf-deep:
    {{nixperf}} analyze --deep -f {{file}} -A {{attr}} --out-dir {{out}}
