// How the evaluation ended. Nix's commands run their body inside nix::handleExceptions, which
// turns errors and interrupts into an exit status; wrapping it tells us whether the profile is
// complete, failed (with the error's first line) or interrupted. atexit covers everything else.
#include "hooks.hh"
#include "got_patch.hh"

#include <cstdlib>
#include <functional>

#include "shared.hh"

namespace nixperf {

namespace {

shim::HandleExceptionsFn orig_handle_exceptions = nullptr;

enum Status : uint8_t { Ok = 0, Failed = 1, Interrupted = 2, UnknownExit = 3 };

struct Outcome
{
    bool seen = false;
    Status status = Ok;
    std::string reason;
};
Outcome outcome;

int handle_exceptions_hook(const std::string & programName, std::function<void()> fun)
{
    auto wrapped = [&]() {
        try {
            fun();
        } catch (nix::Interrupted &) {
            outcome = {true, Interrupted, "interrupted (SIGINT/SIGTERM)"};
            throw;
        } catch (nix::Exit & e) {
            if (e.status != 0) outcome = {true, Failed, "exit status " + std::to_string(e.status)};
            throw;
        } catch (nix::BaseError & e) {
            outcome = {true, Failed, std::string(e.what())};
            throw;
        } catch (std::exception & e) {
            outcome = {true, Failed, std::string(e.what())};
            throw;
        } catch (...) {
            outcome = {true, Failed, "unknown exception"};
            throw;
        }
    };
    int status = orig_handle_exceptions(programName, wrapped);
    if (!outcome.seen && status != 0) outcome = {true, Failed, "exit status " + std::to_string(status)};
    rec::finish(outcome.status, rs(outcome.reason));
    return status;
}

void at_exit() noexcept
{
    // Reached only when nix exited without returning through handleExceptions.
    try {
        rec::finish(UnknownExit, rs("process exited before the evaluation finished"));
    } catch (...) {
    }
}

} // namespace

std::string install_exit_hooks()
{
    std::atexit(at_exit);
    orig_handle_exceptions =
        reinterpret_cast<shim::HandleExceptionsFn>(real_symbol(NIXPERF_HANDLE_EXCEPTIONS_SYMBOL));
    if (!orig_handle_exceptions) return "nix::handleExceptions not found";
    if (!patch_plt_slots(NIXPERF_HANDLE_EXCEPTIONS_SYMBOL, reinterpret_cast<void *>(&handle_exceptions_hook)))
        return "no PLT slot calls nix::handleExceptions";
    return {};
}

} // namespace nixperf
