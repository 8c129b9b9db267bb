#pragma once
#include "ast_walk.hh"
#include "hooks.hh"

namespace nixperf {

// Registers the findings of node `e` (in `file`, attribution `tag`) and instruments what must be counted; returns
// the context for its children.
WalkContext visit_findings(
    nix::EvalState * state, nix::Expr * e, const WalkContext & ctx, uint32_t file, uint32_t tag, uint32_t let_threshold);

// Hands the per-`with` lookup counts to the recorder (at the end).
void report_with_lookups() noexcept;

} // namespace nixperf
