// Nix 2.28 … 2.35 half of plugin/shim.hh (included from there only), by API epoch, read from
// the sources of 2.28.7, 2.29.4, 2.30.5, 2.31.5, 2.32.8, 2.33.6, 2.34.8 and 2.35.2:
// - 2.28: headers under nix/<component>/ (nix/expr/eval.hh, nix/store/…, nix/util/…); the
//   generated config headers (nix/expr/config.hh: NIX_USE_BOEHMGC) are included by Nix's own
//   headers. Value payload still a plain union (v.payload.lambda …), as in 2.26.
// - 2.30: Value accessors are methods (lambda(), primOpApp(), thunk()); EvalProfiler.
// - 2.32: Expr has a 12th virtual slot (evalForUpdate, between maybeThunk and setName);
//   ExprSelect's path is getAttrPath() (arena-allocated); evaluator statistics are `Counter`s
//   whose `enabled` is read from NIX_SHOW_STATS when libnixexpr loads, before a plugin can set
//   the variable, so the plugin switches them on itself.
// - 2.33: the AST moved into an arena: ExprAttrs::attrs/dynamicAttrs and ExprCall::args are
//   std::optional containers, a lambda's formals are getFormals() (std::optional<Formals>),
//   ExprConcatStrings::es is a std::span; parseExprFromFile/parseExprFromString take the
//   StaticEnv as `const std::shared_ptr &`.
// - 2.34, 2.35: nothing the plugin uses changed (2.35 reorganised Value's storage internally,
//   behind the same accessors).
// The static_asserts at the end check the hooked member functions' signatures on every version;
// scripts/check-plugin-compiles.sh also checks the mangled names against the compiler's.
//
// Hook points, checked in the relocations of 2.34.8's libnixexpr.so (`readelf -rW`,
// R_X86_64_JUMP_SLOT): callFunction (span overload), parseExprFromFile, parseExprFromString,
// evalFile and realiseContext are still called through libnixexpr's own PLT, so every family
// keeps 2.8's GOT wrapper. For calls we deliberately do not use 2.30's EvalProfiler
// (eval-profiler.hh): EvalState::profiler is private and exists only once an EvalState does
// (plugins load earlier), every hook goes through MultiEvalProfiler's virtual dispatch and
// vector, and pre/postFunctionCallHook see one callFunction with all its arguments — the GOT
// wrapper also splits a curried `f a b` into its two lambda applications, so counts stay those
// of 2.8. Thunks and findings keep the AST vtable swap (forcing a thunk is still an inline
// `expr->eval()` in eval-inline.hh).
#pragma once

#include <cctype>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <algorithm>
#include <exception>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "nix/expr/eval.hh"
#include "nix/expr/eval-inline.hh"
#include "nix/expr/nixexpr.hh"
#include "nix/expr/primops.hh"
#if NIXPERF_NIX_AT_LEAST(2, 32)
#include "nix/expr/counter.hh"
#endif
#include "nix/expr/value/context.hh"
#include "nix/util/configuration.hh"
#include "nix/util/config-global.hh"
#include "nix/util/signals.hh"
#include "nix/store/globals.hh"
#include "nix/store/store-api.hh"
#include "nix/store/derived-path.hh"

#define NIXPERF_HAVE_FILE_HOOKS 1
#define NIXPERF_HAVE_IFD_HOOK 1

namespace nixperf::shim {

using nix::EvalState;
using nix::Expr;
using nix::Value;

// ---- positions --------------------------------------------------------------------------
using PosRef = nix::PosIdx;

#include "shim_pos_since_2_26.hh"

// ---- AST ---------------------------------------------------------------------------------
// The AST's containers (the defaults for 2.8/2.26 are in shim.hh): plain members up to 2.32,
// the arena's optional containers and spans from 2.33.
#define NIXPERF_SHIM_AST_ACCESSORS 1
#if NIXPERF_NIX_AT_LEAST(2, 33)
inline const nix::ExprAttrs::AttrDefs & attr_defs(const nix::ExprAttrs & a) { return *a.attrs; }
inline const nix::ExprAttrs::DynamicAttrDefs & dynamic_attr_defs(const nix::ExprAttrs & a) { return *a.dynamicAttrs; }
inline const std::pmr::vector<nix::Expr *> & call_args(const nix::ExprCall & c) { return *c.args; }
// A lambda's attribute-set pattern, if it has one (Formals is a view since 2.33).
inline std::optional<nix::Formals> formals_of(const nix::ExprLambda & l) { return l.getFormals(); }
template<typename F>
void for_each_string_part(const nix::ExprConcatStrings & c, F && f)
{
    for (auto & [_, e] : c.es) f(e);
}
#else
inline const nix::ExprAttrs::AttrDefs & attr_defs(const nix::ExprAttrs & a) { return a.attrs; }
inline const nix::ExprAttrs::DynamicAttrDefs & dynamic_attr_defs(const nix::ExprAttrs & a) { return a.dynamicAttrs; }
inline const std::vector<nix::Expr *> & call_args(const nix::ExprCall & c) { return c.args; }
inline const nix::Formals * formals_of(const nix::ExprLambda & l) { return l.hasFormals() ? l.formals : nullptr; }
template<typename F>
void for_each_string_part(const nix::ExprConcatStrings & c, F && f)
{
    if (c.es)
        for (auto & [_, e] : *c.es) f(e);
}
#endif
#if NIXPERF_NIX_AT_LEAST(2, 32)
inline std::span<const nix::AttrName> select_path(const nix::ExprSelect & s) { return s.getAttrPath(); }
#else
inline std::span<const nix::AttrName> select_path(const nix::ExprSelect & s) { return s.attrPath; }
#endif
inline std::span<const nix::AttrName> has_attr_path(const nix::ExprOpHasAttr & h) { return h.attrPath; }
template<typename F>
void for_each_formal_default(const nix::ExprLambda & l, F && f)
{
    if (auto formals = formals_of(l))
        for (auto & formal : formals->formals) f(formal.def);
}
// A lambda's attribute-set pattern `{ a, b ? 1, ... }:`: whether it has one, its names in
// source order, whether it ends in `...`.
inline bool lambda_has_formals(const nix::ExprLambda & l) { return bool(formals_of(l)); }
inline bool lambda_ellipsis(const nix::ExprLambda & l)
{
    auto formals = formals_of(l);
    return formals && formals->ellipsis;
}
template<typename F>
void for_each_formal_name(EvalState * state, const nix::ExprLambda & l, F && f)
{
    if (auto formals = formals_of(l))
        for (auto & formal : formals->formals) f(std::string_view(state->symbols[formal.name]));
}

#include "shim_since_2_26.hh"

// 2.28 … 2.35 keep no position for a `let` either: the `let` keyword is found in the source before
// the first binding (2.8 positions it there). Falls back to the first binding's position.
inline std::pair<uint32_t, uint32_t> let_pos(EvalState * state, const nix::ExprLet & l)
{
    nix::PosIdx first;
    for (auto & [_, d] : attr_defs(*l.attrs))
        if (d.pos && (!first || d.pos < first)) first = d.pos;
    auto * o = origin_of(state, first);
    if (!o) return {0, 0};
    uint32_t off = o->offsetOf(first);
    if (auto k = detail::let_keyword_before(detail::source_of(o), off); k != std::string_view::npos) off = uint32_t(k);
    return detail::offset_line_col(o, off);
}

// ---- calls: Value accessors (the callFunction signature is in shim_since_2_26.hh) ---------
#if NIXPERF_NIX_AT_LEAST(2, 30)
// Whether `v` is a (not yet forced) thunk of expression `e`.
inline bool is_thunk_of(const Value & v, const nix::Expr * e) { return v.isThunk() && v.thunk().expr == e; }
inline nix::ExprLambda * lambda_of(const Value & v) { return v.lambda().fun; }
inline const Value * primop_app_left(const Value & v) { return v.primOpApp().left; }
#else
inline bool is_thunk_of(const Value & v, const nix::Expr * e) { return v.isThunk() && v.payload.thunk.expr == e; }
inline nix::ExprLambda * lambda_of(const Value & v) { return v.payload.lambda.fun; }
inline const Value * primop_app_left(const Value & v) { return v.payload.primOpApp.left; }
#endif
inline const nix::PrimOp * primop_of(const Value & v) { return v.primOp(); }
inline std::string_view primop_name(const nix::PrimOp & p) { return p.name; }
inline bool needs_force(const Value & v) { return v.isThunk() || v.isApp(); }

// ---- files ------------------------------------------------------------------------------
// Files are SourcePaths named as Nix shows them, as positions are (pos_file).
using FilePath = nix::SourcePath;
#if NIXPERF_NIX_AT_LEAST(2, 33)
using StaticEnvRef = const std::shared_ptr<nix::StaticEnv> &;
#define NIXPERF_PARSE_FILE_SYMBOL \
    "_ZN3nix9EvalState17parseExprFromFileERKNS_10SourcePathERKSt10shared_ptrINS_9StaticEnvEE"
#define NIXPERF_PARSE_STRING_SYMBOL \
    "_ZN3nix9EvalState19parseExprFromStringENSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEERKNS_10SourcePathERKSt10shared_ptrINS_9StaticEnvEE"
#else
using StaticEnvRef = std::shared_ptr<nix::StaticEnv> &;
#define NIXPERF_PARSE_FILE_SYMBOL "_ZN3nix9EvalState17parseExprFromFileERKNS_10SourcePathERSt10shared_ptrINS_9StaticEnvEE"
#define NIXPERF_PARSE_STRING_SYMBOL \
    "_ZN3nix9EvalState19parseExprFromStringENSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEERKNS_10SourcePathERSt10shared_ptrINS_9StaticEnvEE"
#endif
inline std::string file_path_str(const FilePath & p) { return p.to_string(); }
inline std::string resolved_expr_path(const FilePath & p) { return nix::resolveExprPath(p).to_string(); }
// PLT calls inside libnixexpr.so as in 2.26: the one-argument overloads forward to these, the
// file thunk of `import` (ExprParseFile, a thunk in evalFile's cache) calls parseExprFromFile.
using ParseFileFn = Expr * (*)(EvalState *, const FilePath &, StaticEnvRef);
using ParseStringFn = Expr * (*)(EvalState *, std::string, const FilePath &, StaticEnvRef);
#define NIXPERF_EVAL_FILE_SYMBOL "_ZN3nix9EvalState8evalFileERKNS_10SourcePathERNS_5ValueEb"
using EvalFileFn = void (*)(EvalState *, const FilePath &, Value &, bool);

// ---- import from derivation, errors, interrupts: as in 2.26 (shim_since_2_26.hh) ----------
// ---- evaluator statistics -------------------------------------------------------------------
// From 2.32, Counter::enabled was read from NIX_SHOW_STATS when libnixexpr was loaded, before our
// request_stats() set it: switch the counters (and maybePrintStats) on ourselves.
#if NIXPERF_NIX_AT_LEAST(2, 32)
#define NIXPERF_SHIM_STATS_REQUESTED 1
inline void stats_requested() { nix::Counter::enabled = true; }
#endif

// ---- AST vtables ------------------------------------------------------------------------
// Virtual slots of nix::Expr: two destructors, show, bindVars, eval, maybeThunk, (from 2.32)
// evalForUpdate, setName, setDocComment, getPos, resetCursedOr, warnIfCursedOr. No subclass
// adds a virtual function (checked in nixexpr.hh and eval.cc's ExprParseFile).
inline constexpr size_t EXPR_VTABLE_SLOTS = NIXPERF_NIX_AT_LEAST(2, 32) ? 12 : 11;

#include "shim_sigs_since_2_26.hh"

} // namespace nixperf::shim
