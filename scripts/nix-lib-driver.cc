// Verification driver (not part of nixperf): evaluates a file with Nix's libraries from the
// build tree (2.26: flat headers; 2.34: nix/<component>/ headers), with plugins loaded exactly as
// nix does (plugin-files + initPlugins), while the `nix` binary itself is still compiling.
//   driver PLUGIN.so FILE.nix PROFILE.db
#if __has_include("nix/expr/eval.hh")
#include "nix/main/shared.hh"
#include "nix/main/plugin.hh"
#include "nix/expr/eval.hh"
#include "nix/expr/eval-gc.hh"
#include "nix/expr/eval-settings.hh"
#include "nix/expr/print.hh"
#include "nix/fetchers/fetch-settings.hh"
#include "nix/store/store-api.hh"
#include "nix/store/store-open.hh"
#include "nix/store/globals.hh"
#include "nix/util/config-global.hh"
#else
#include "config-util.hh"
#include "config-store.hh"
#include "config-expr.hh"
#include "config-main.hh"
#include "shared.hh"
#include "plugin.hh"
#include "eval.hh"
#include "eval-gc.hh"
#include "eval-settings.hh"
#include "fetch-settings.hh"
#include "store-api.hh"
#include "globals.hh"
#include "config-global.hh"
#include "print.hh"
#endif
#include <iostream>

int main(int argc, char ** argv)
{
    return nix::handleExceptions("driver", [&]() {
        nix::initNix();
        nix::initGC();
        nix::globalConfig.set("plugin-files", argv[1]);
        nix::initPlugins();
        nix::globalConfig.set("nixperf-profile", argv[3]);
        nix::fetchers::Settings fetchSettings;
        static bool readOnly = true;
        nix::EvalSettings evalSettings{readOnly};
        auto store = nix::openStore("dummy://");
        auto state = std::make_shared<nix::EvalState>(nix::LookupPath{}, store, fetchSettings, evalSettings);
        auto e = state->parseExprFromFile(state->rootPath(nix::CanonPath(argv[2])));
        nix::Value v;
        state->eval(e, v);
        state->forceValueDeep(v);
        std::cout << nix::printValue(*state, v) << "\n";
    });
}
