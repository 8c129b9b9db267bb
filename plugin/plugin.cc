// Plugin entry: registers nixperf's settings with Nix and installs the hooks when nix loads the
// shared object (`--option plugin-files`). Nothing here may throw out of a static initializer.
#include "hooks.hh"

#include <iostream>

namespace nixperf {

namespace {

struct Settings : nix::Config
{
    nix::Setting<std::string> profile{this, "nixperf-profile.db", "nixperf-profile",
        "Where nixperf writes the evaluation profile (SQLite)."};
    // «nix-internal»/: Nix 2.26's internal files («nix-internal»/call-flake.nix, which calls a flake's outputs).
    nix::Setting<std::string> library{this, "/lib/ //builtin/ <nix/ /corepkgs/ \u00abnix-internal\u00bb/", "nixperf-library",
        "Space-separated path fragments: files whose path contains one count as library code, "
        "whose cost rolls up into the module that called them."};
    nix::Setting<unsigned int> letThreshold{this, 20, "nixperf-let-threshold",
        "A `let` with more bindings than this is reported as a finding."};
    nix::Setting<bool> findings{this, true, "nixperf-findings",
        "Record `with`/`rec`/`let` findings and count with-lookups and rec evaluations."};
};

Settings settings;
nix::GlobalConfig::Register registration(&settings);

bool configured = false;

struct Install
{
    Install()
    {
        try {
            std::string err = install_call_hook();
            request_stats();
            for (auto & e : {install_file_hooks(), install_exit_hooks(), install_ifd_hook()})
                if (!e.empty()) err += (err.empty() ? "" : "; ") + e;
            if (!err.empty())
                std::cerr << "nixperf: plugin partly inactive: " << err << "\n";
        } catch (std::exception & e) {
            std::cerr << "nixperf: plugin inactive: " << e.what() << "\n";
        } catch (...) {
        }
    }
};
Install install;

} // namespace

uint32_t let_binding_threshold() noexcept
{
    return settings.letThreshold.get();
}

bool findings_enabled() noexcept
{
    return settings.findings.get();
}

void ensure_configured() noexcept
{
    if (configured) return;
    configured = true;
    try {
        rec::configure(rs(settings.profile.get()), rs(settings.library.get()));
    } catch (...) {
    }
}

} // namespace nixperf
