// Module cost attribution through the AST (see thunk_hook.cc).
#pragma once
#include "vtable_patch.hh"

namespace nixperf {

// Attribution hooks on single nodes. `file` is the node's file id.
void hook_thunk(nix::Expr * e, uint32_t file, bool library);
void hook_root(nix::Expr * e, uint32_t file);
// A `rec { }` set: attributed like a thunk, and counted on its own (finding `id`).
void hook_rec(nix::ExprAttrs * e, uint32_t file, bool library, uint32_t id);

} // namespace nixperf
