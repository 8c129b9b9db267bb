// The per-call entry points of the Rust recorder (src/recorder/ffi.rs), called directly rather
// than through cxx's wrappers: every Nix function call goes through them (see bridge.rs).
// Hidden: they are for this plugin only, never exported.
#pragma once
#include <cstddef>
#include <cstdint>

extern "C" {
// A function call: `callee` identifies the lambda/primop, the site is (file key, line, column).
// Returns flags: 1 = new call path, describe it (rec::call_describe); 2 = unknown site file,
// name it (rec::site_file).
__attribute__((visibility("hidden"))) uint8_t nixperf_call_enter(
    size_t callee, size_t site_file, uint32_t site_line, uint32_t site_col) noexcept;
__attribute__((visibility("hidden"))) void nixperf_call_exit() noexcept;
}
