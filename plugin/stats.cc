// Evaluator statistics (calls, thunks, values, envs, sets, list concatenations, GC heap) from
// the same run, exactly as NIX_SHOW_STATS reports them: unless the user asked for them
// already, the plugin asks Nix to write them to a private file (NIX_SHOW_STATS_PATH) at the end
// of evaluation, and hands that JSON to the recorder. Nix writes them only after a successful
// evaluation. Where they cost time (Nix >= 2.26, see shim::STATS_ARE_FREE) only on request.
#include "hooks.hh"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace nixperf {

namespace {
// Function-local and never destroyed: used from a static initializer (plugin.cc) and at exit.
struct State
{
    std::string path;
    bool ours = false;
};
State & state()
{
    static auto * s = new State;
    return *s;
}
} // namespace

// NIXPERF_NIX_STATS=1 or 0 decides; unset, the plugin asks only where the statistics are free.
// An environment variable rather than a setting: the plugin must decide when it is loaded,
// before Nix applies the command line's settings, or 2.34's counters would miss the start.
static bool stats_wanted()
{
    const char * v = std::getenv("NIXPERF_NIX_STATS");
    if (!v || !*v) return shim::STATS_ARE_FREE;
    return std::string(v) != "0";
}

void request_stats() noexcept
{
    try {
        if (const char * p = std::getenv("NIX_SHOW_STATS"); p && std::string(p) != "0") {
            // The user's own request; read their file if they named one.
            if (const char * path = std::getenv("NIX_SHOW_STATS_PATH")) state().path = path;
            return;
        }
        if (!stats_wanted()) return;
        const char * tmp = std::getenv("TMPDIR");
        auto & st = state();
        st.path = std::string(tmp && *tmp ? tmp : "/tmp") + "/nixperf-stats-" + std::to_string(getpid()) + ".json";
        setenv("NIX_SHOW_STATS", "1", 1);
        setenv("NIX_SHOW_STATS_PATH", st.path.c_str(), 1);
        shim::stats_requested();
        st.ours = true;
    } catch (...) {
    }
}

void report_stats() noexcept
{
    try {
        auto & st = state();
        if (st.path.empty()) return;
        std::ifstream in(st.path);
        if (in) {
            std::stringstream buf;
            buf << in.rdbuf();
            rec::evaluator_stats(rs(buf.str()));
        }
        if (st.ours) unlink(st.path.c_str());
    } catch (...) {
    }
}

} // namespace nixperf
