// Module cost attribution through the AST (see thunk_hook.cc).
#pragma once
#include "vtable_patch.hh"

namespace nixperf {

// Attribution hooks on single nodes. `tag` is the node's `vt::attribution_tag`, `file` its file id.
void hook_thunk(nix::Expr * e, uint32_t tag);
void hook_root(nix::Expr * e, uint32_t file);
// A `rec { }` set: attributed like a thunk, and counted on its own (finding `id`).
void hook_rec(nix::ExprAttrs * e, uint32_t tag, uint32_t id);

} // namespace nixperf
