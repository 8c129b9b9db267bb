// Import from derivation: evaluation stops to build (or check) derivation outputs whenever a
// path with derivation context is imported or read (import, readFile, pathExists, readDir, …).
// All of them go through EvalState::realiseContext, a PLT call in libnixexpr; the recorder
// attributes the event to the primop being called and its call site. A context that is already
// built still counts: it is IFD, only the blocked time is small.
#include "hooks.hh"
#include "got_patch.hh"

namespace nixperf {

namespace {

shim::RealiseContextFn orig_realise = nullptr;

nix::StringMap realise_hook(nix::EvalState * state, const shim::RealiseArgs & args)
{
    if (stack_nearly_full()) return shim::realise_orig(orig_realise, state, args);
    std::string drvs;
    try {
        drvs = shim::context_derivations(state, args);
    } catch (...) {
    }
    if (drvs.empty()) return shim::realise_orig(orig_realise, state, args);
    uint64_t start = rec::now();
    try {
        auto r = shim::realise_orig(orig_realise, state, args);
        rec::ifd(rs(drvs), start);
        return r;
    } catch (...) {
        rec::ifd(rs(drvs), start);
        note_exception();
        throw;
    }
}

} // namespace

std::string install_ifd_hook()
{
    orig_realise = reinterpret_cast<shim::RealiseContextFn>(real_symbol(NIXPERF_REALISE_CONTEXT_SYMBOL));
    if (!orig_realise) return "EvalState::realiseContext not found";
    if (!patch_plt_slots(NIXPERF_REALISE_CONTEXT_SYMBOL, reinterpret_cast<void *>(&shim::realise_entry<&realise_hook>)))
        return "no PLT slot calls EvalState::realiseContext";
    return {};
}

} // namespace nixperf
