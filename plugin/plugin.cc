// Plugin entry: registers nixperf's settings with Nix and installs the hooks when nix loads the
// shared object (`--option plugin-files`). Nothing here may throw out of a static initializer.
#include "hooks.hh"

#include <iostream>

namespace nixperf {

namespace {

struct Settings : nix::Config
{
    // Its default is the recorder's (`profile::DEFAULT_PATH` in src/profile/mod.rs).
    nix::Setting<std::string> profile{this, std::string(rec::default_profile_path()), "nixperf-profile",
        "Where nixperf writes the evaluation profile (SQLite)."};
    // Both add to the automatic classification (src/recorder/roles.rs), which decides from each
    // file's code whether it is a module or a helper library.
    nix::Setting<std::string> library{this, "", "nixperf-library",
        "Path fragments (separated by commas or spaces): files whose path contains one are helper "
        "libraries, whose cost rolls up into the module that called them."};
    nix::Setting<std::string> module{this, "", "nixperf-module",
        "Path fragments (separated by commas or spaces): files whose path contains one are modules "
        "with a row of their own, whatever their code looks like."};
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
            for (auto & e : {install_file_hooks(), install_exit_hooks(), install_ifd_hook(), install_stack_overflow_hook()})
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
    arm_stack_guard();
    try {
        rec::configure(rs(settings.profile.get()), rs(settings.library.get()), rs(settings.module.get()));
    } catch (...) {
    }
}

} // namespace nixperf
