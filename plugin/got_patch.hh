// Redirects calls that go through PLT slots (JUMP_SLOT relocations) of every loaded object.
#pragma once
#include <cstddef>

namespace nixperf {

// Points every JUMP_SLOT of `symbol` in every loaded ELF object at `replacement`.
// Returns the number of slots patched. Never throws.
size_t patch_plt_slots(const char * symbol, void * replacement) noexcept;

// The real definition of `symbol` in the process (dlsym), or nullptr.
void * real_symbol(const char * symbol) noexcept;

} // namespace nixperf
