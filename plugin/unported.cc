// The hook families plugin/shim.hh has no shims for on this Nix version (NIXPERF_HAVE_*), in
// place of their files: the plugin then loads with exact calls and the call tree only, and says
// what is missing. build.rs compiles this file instead of the unported ones.
#include "hooks.hh"

namespace nixperf {

#define NIXPERF_STR2(x) #x
#define NIXPERF_STR(x) NIXPERF_STR2(x)
#define NIXPERF_VERSION_STR NIXPERF_STR(NIXPERF_NIX_MAJOR) "." NIXPERF_STR(NIXPERF_NIX_MINOR)

#if !NIXPERF_HAVE_FILE_HOOKS
std::string install_file_hooks()
{
    return "file, thunk and findings hooks not ported to Nix " NIXPERF_VERSION_STR
           " (calls only: module time follows lambda calls, not thunks; no parse/WHNF times)";
}
void instrument_ast(nix::EvalState *, nix::Expr *, uint32_t) noexcept { }
void report_counts() noexcept { }
#endif

#if !NIXPERF_HAVE_IFD_HOOK
std::string install_ifd_hook()
{
    return "IFD hook not ported to Nix " NIXPERF_VERSION_STR;
}
#endif

} // namespace nixperf
