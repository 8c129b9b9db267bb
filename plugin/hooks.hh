// Entry points of the plugin's hook files; plugin.cc installs them at load time.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "shim.hh"
#include "nixperf/src/recorder/bridge.rs.h"

namespace nixperf {

inline rust::Str rs(std::string_view s) { return rust::Str(s.data(), s.size()); }

// Settings (plugin.cc); read once when the first file is parsed, after nix applied --option.
void ensure_configured() noexcept;

// Each returns a one-line description of what it could not hook, or empty on success.
std::string install_call_hook();
std::string install_file_hooks();
std::string install_exit_hooks();
std::string install_ifd_hook();
std::string install_stack_overflow_hook();

// stack_overflow.cc: hooks record nothing while the main thread's stack is within
// STACK_RESERVE of its limit (they only call the original), so that a stack overflow never
// happens half way through an update of the recorder and the profile can still be written from
// Nix's overflow handler. `stack_low_water` is 0 (never) until `arm_stack_guard` (the first
// parse, after Nix set its stack size) computed it; `unrecorded_calls` counts what was skipped.
inline uintptr_t stack_low_water = 0;
inline uint64_t unrecorded_calls = 0;
void arm_stack_guard() noexcept;
[[gnu::always_inline]] inline uintptr_t stack_pointer()
{
    uintptr_t sp;
#if defined(__x86_64__)
    asm volatile("mov %%rsp, %0" : "=r"(sp));
#elif defined(__aarch64__)
    asm volatile("mov %0, sp" : "=r"(sp));
#else
    sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
#endif
    return sp;
}
[[gnu::always_inline]] inline bool stack_nearly_full()
{
    return __builtin_expect(stack_pointer() < stack_low_water, 0);
}

// exit_hook.cc: the profile is finished once; true for the one caller that is to finish it
// (the exit hook, or the stack overflow handler; async-signal-safe).
bool claim_finish() noexcept;
// After a stack overflow (from the SIGSEGV handler, once claimed): the counts kept in C++, then
// the recorder writes the profile marked failed with Nix's stack overflow message.
void finish_after_stack_overflow() noexcept;

// stats.cc: ask Nix for its statistics at load time, hand them over at the end.
void request_stats() noexcept;
void report_stats() noexcept;

// plugin.cc: the `nixperf-let-threshold` and `nixperf-findings` settings.
uint32_t let_binding_threshold() noexcept;
bool findings_enabled() noexcept;

// exit_hook.cc: remember the exception unwinding through a hook (the last one is the
// evaluation's error, if it fails).
void note_exception() noexcept;

// Nix 2.8 never checks for SIGINT while evaluating; our hooks do, so that an interrupted
// evaluation ends (with Nix's own "interrupted by the user") and still leaves a profile.
// Out of line: Nix >= 2.26's checkInterrupt reads a thread_local, whose address (a
// __tls_get_addr call in a plugin) the compiler would otherwise compute on every hook entry.
[[gnu::noinline, gnu::cold]] void interrupted_now();
inline void check_interrupt()
{
    if (__builtin_expect(shim::interrupted(), 0)) interrupted_now();
}

// instrument.cc: instrument a freshly parsed AST that belongs to `file` (positions and symbols
// resolve through `state`); hand the counts kept in the instrumented vtables to the recorder
// (before it finishes).
void instrument_ast(nix::EvalState * state, nix::Expr * root, uint32_t file) noexcept;
void report_counts() noexcept;

} // namespace nixperf
