// How each Nix version reacts to a stack overflow, for plugin/stack_overflow.cc (the only file
// that includes this header: it pulls in libmain's shared.hh, which no other hook needs).
//
// - Nix 2.8 (libmain/stack.cc): a SIGSEGV handler on a 16 KiB alternate stack compares the
//   fault address with the stack pointer (|addr - sp| < 4096) and, on an overflow, writes
//   "error: stack overflow (possible infinite recursion)" and calls _exit(1). There is no hook:
//   the plugin installs its own SIGSEGV handler in front and chains to Nix's.
// - Nix >= 2.26 (libmain/unix/stack.cc): the same handler, but on an overflow it calls the
//   function variable `nix::stackOverflowHandler` (default: the same message and _exit(1)). The
//   plugin wraps it: its own handler first, then a copy of the previous one. Its type is
//   std::function until 2.33 and nix::fun (a non-nullable std::function wrapper) from 2.34; the
//   declaration's own type is taken, so both are covered.
#pragma once

#include "shim.hh"

#include <signal.h>

#if NIXPERF_NIX_AT_LEAST(2, 28)
#include "nix/main/shared.hh"
#elif NIXPERF_NIX_AT_LEAST(2, 26)
#include "shared.hh"
#endif

#include <type_traits>

namespace nixperf::shim {

#if NIXPERF_NIX_AT_LEAST(2, 26)
#define NIXPERF_HAVE_STACK_OVERFLOW_HANDLER 1
// `decltype` only: the plugin never references the variable at link time (libnixmain may be
// absent from a process that loads libnixexpr); it is found with dlsym at load.
using StackOverflowHandler = std::remove_cvref_t<decltype(nix::stackOverflowHandler)>;
#define NIXPERF_STACK_OVERFLOW_HANDLER_SYMBOL "_ZN3nix20stackOverflowHandlerE"
#else
#define NIXPERF_HAVE_STACK_OVERFLOW_HANDLER 0
#endif

} // namespace nixperf::shim
