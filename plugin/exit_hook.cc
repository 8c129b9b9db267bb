// How the evaluation ended. The plugin loads after nix's main has entered
// nix::handleExceptions, so we learn the outcome where the process ends: glibc's on_exit gives
// the exit status; Nix's interrupt flag tells an interrupt from a failure; the last exception
// that crossed one of our hooks gives the error's first line.
#include "hooks.hh"

#include <atomic>
#include <cstdlib>
#include <exception>
#include <iostream>

namespace nixperf {

namespace {

// How the evaluation ended (the codes are the bridge's, src/recorder/bridge.rs).
using Status = rec::ExitStatus;

// Never destroyed: static destructors may run before our on_exit handler.
std::exception_ptr & last_error = *new std::exception_ptr;
// Its message, where the Nix version needs it taken early (shim::exception_summary).
std::string & last_reason = *new std::string;

std::string describe(const std::exception_ptr & e)
{
    if (!e) return {};
    try {
        std::rethrow_exception(e);
    } catch (std::exception & x) {
        return x.what();
    } catch (...) {
        return "unknown exception";
    }
}

// Whether the profile has been (or is being) finished: by the exit hook or after a stack
// overflow (stack_overflow.cc), whichever comes first. Lock-free, so a signal handler may ask.
std::atomic<bool> finishing{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void on_exit_handler(int status, void *) noexcept
{
    if (!claim_finish()) return;
    try {
        if (unrecorded_calls)
            std::cerr << "nixperf: warning: " << unrecorded_calls
                      << " calls ran in the last MiB of the stack, where the plugin records nothing (see README, Reliability)\n";
        report_counts();
        report_stats();
        if (status == 0)
            rec::finish(Status::Complete, rs(""));
        else if (shim::interrupted())
            rec::finish(Status::Interrupted, rs("interrupted by the user"));
        else {
            std::string reason = NIXPERF_WHAT_AT_EXIT_IS_SAFE ? describe(last_error) : last_reason;
            if (reason.empty()) reason = "nix exited with status " + std::to_string(status);
            rec::finish(Status::Failed, rs(reason));
        }
        last_error = nullptr;
    } catch (...) {
    }
}

} // namespace

bool claim_finish() noexcept
{
    return !finishing.exchange(true, std::memory_order_acq_rel);
}

void finish_after_stack_overflow() noexcept
{
    try {
        // Not report_stats: Nix writes its statistics only after a successful evaluation.
        report_counts();
        rec::finish(Status::Failed, rs("error: stack overflow (possible infinite recursion)"));
    } catch (...) {
    }
}

void interrupted_now()
{
    nix::checkInterrupt();
}

void note_exception() noexcept
{
    auto e = std::current_exception();
    if (e == last_error) return; // the same error unwinding through another hook
    last_error = e;
    if (!NIXPERF_WHAT_AT_EXIT_IS_SAFE) {
        try {
            last_reason = shim::exception_summary(e);
        } catch (...) {
        }
    }
}

std::string install_exit_hooks()
{
    if (on_exit(on_exit_handler, nullptr) != 0) return "on_exit failed";
    return {};
}

} // namespace nixperf
