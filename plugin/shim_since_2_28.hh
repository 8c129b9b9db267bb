// Nix 2.34 half of plugin/shim.hh (included from there only). Differences from 2.26
// (plugin/shim_2_26.hh), read from the 2.34.8 sources:
// - headers under nix/<component>/ (nix/expr/eval.hh, nix/store/…, nix/util/…); the generated
//   config headers (nix/expr/config.hh: NIX_USE_BOEHMGC) are included by Nix's own headers;
// - Value accessors are methods: lambda(), primOpApp(), thunk(), attrs();
// - the AST moved into an arena: ExprAttrs::attrs/dynamicAttrs and ExprCall::args are
//   std::optional containers, ExprSelect's path is getAttrPath(), a lambda's formals are
//   getFormals() (std::optional<Formals>), ExprConcatStrings::es is a std::span;
// - Expr has a 12th virtual slot (evalForUpdate, between maybeThunk and setName);
// - parseExprFromFile/parseExprFromString take the StaticEnv as `const std::shared_ptr &`;
// - evaluator statistics: Counter::enabled is read from NIX_SHOW_STATS when libnixexpr loads,
//   before a plugin can set the variable, so the plugin switches it on itself.
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
#include "nix/expr/counter.hh"
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
// The arena AST's containers (the defaults for 2.8/2.26 are in shim.hh).
#define NIXPERF_SHIM_AST_ACCESSORS 1
inline const nix::ExprAttrs::AttrDefs & attr_defs(const nix::ExprAttrs & a) { return *a.attrs; }
inline const nix::ExprAttrs::DynamicAttrDefs & dynamic_attr_defs(const nix::ExprAttrs & a) { return *a.dynamicAttrs; }
inline std::span<const nix::AttrName> select_path(const nix::ExprSelect & s) { return s.getAttrPath(); }
inline std::span<const nix::AttrName> has_attr_path(const nix::ExprOpHasAttr & h) { return h.attrPath; }
inline const std::pmr::vector<nix::Expr *> & call_args(const nix::ExprCall & c) { return *c.args; }
template<typename F>
void for_each_formal_default(const nix::ExprLambda & l, F && f)
{
    if (auto formals = l.getFormals())
        for (auto & formal : formals->formals) f(formal.def);
}
template<typename F>
void for_each_string_part(const nix::ExprConcatStrings & c, F && f)
{
    for (auto & [_, e] : c.es) f(e);
}

#include "shim_since_2_26.hh"

// 2.34 keeps no position for a `let` either: the `let` keyword is found in the source before
// the first binding (2.8 positions it there). Falls back to the first binding's position.
inline std::pair<uint32_t, uint32_t> let_pos(EvalState * state, const nix::ExprLet & l)
{
    nix::PosIdx first;
    for (auto & [_, d] : *l.attrs->attrs)
        if (d.pos && (!first || d.pos < first)) first = d.pos;
    auto * o = origin_of(state, first);
    if (!o) return {0, 0};
    uint32_t off = o->offsetOf(first);
    if (auto k = detail::let_keyword_before(detail::source_of(o), off); k != std::string_view::npos) off = uint32_t(k);
    return detail::offset_line_col(o, off);
}

// Whether `v` is a (not yet forced) thunk of expression `e`.
inline bool is_thunk_of(const Value & v, const nix::Expr * e) { return v.isThunk() && v.thunk().expr == e; }

// ---- calls: Value accessors (the callFunction signature is in shim_since_2_26.hh) ---------
inline nix::ExprLambda * lambda_of(const Value & v) { return v.lambda().fun; }
inline const nix::PrimOp * primop_of(const Value & v) { return v.primOp(); }
inline const Value * primop_app_left(const Value & v) { return v.primOpApp().left; }
inline std::string_view primop_name(const nix::PrimOp & p) { return p.name; }
inline bool needs_force(const Value & v) { return v.isThunk() || v.isApp(); }

// ---- files ------------------------------------------------------------------------------
// Files are SourcePaths named as Nix shows them, as positions are (pos_file).
using FilePath = nix::SourcePath;
using StaticEnvRef = const std::shared_ptr<nix::StaticEnv> &;
inline std::string file_path_str(const FilePath & p) { return p.to_string(); }
inline std::string resolved_expr_path(const FilePath & p) { return nix::resolveExprPath(p).to_string(); }
// PLT calls inside libnixexpr.so as in 2.26: the one-argument overloads forward to these, the
// file thunk of `import` (ExprParseFile, a thunk in evalFile's cache) calls parseExprFromFile.
#define NIXPERF_PARSE_FILE_SYMBOL \
    "_ZN3nix9EvalState17parseExprFromFileERKNS_10SourcePathERKSt10shared_ptrINS_9StaticEnvEE"
using ParseFileFn = Expr * (*)(EvalState *, const FilePath &, StaticEnvRef);
#define NIXPERF_PARSE_STRING_SYMBOL \
    "_ZN3nix9EvalState19parseExprFromStringENSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEERKNS_10SourcePathERKSt10shared_ptrINS_9StaticEnvEE"
using ParseStringFn = Expr * (*)(EvalState *, std::string, const FilePath &, StaticEnvRef);
#define NIXPERF_EVAL_FILE_SYMBOL "_ZN3nix9EvalState8evalFileERKNS_10SourcePathERNS_5ValueEb"
using EvalFileFn = void (*)(EvalState *, const FilePath &, Value &, bool);

// ---- import from derivation, errors, interrupts: as in 2.26 (shim_since_2_26.hh) ----------
// ---- evaluator statistics -------------------------------------------------------------------
// Counter::enabled was read from NIX_SHOW_STATS when libnixexpr was loaded, before our
// request_stats() set it: switch the counters (and maybePrintStats) on ourselves.
#define NIXPERF_SHIM_STATS_REQUESTED 1
inline void stats_requested() { nix::Counter::enabled = true; }

// ---- AST vtables ------------------------------------------------------------------------
// Virtual slots of nix::Expr in 2.34: two destructors, show, bindVars, eval, maybeThunk,
// evalForUpdate, setName, setDocComment, getPos, resetCursedOr, warnIfCursedOr. No subclass
// adds a virtual function (checked in nixexpr.hh and eval.cc's ExprParseFile).
inline constexpr size_t EXPR_VTABLE_SLOTS = 12;

// The hooked member functions have exactly the signatures our function pointer types assume
// (the mangled names above were read from the compiler's output for these declarations).
namespace detail {
using nix::NixStringContext;
using nix::SourcePath;
using nix::StaticEnv;
using nix::StorePathSet;
[[maybe_unused]] inline constexpr auto sig_call =
    static_cast<void (EvalState::*)(Value &, std::span<Value *>, Value &, nix::PosIdx)>(&EvalState::callFunction);
[[maybe_unused]] inline constexpr auto sig_parse_file =
    static_cast<Expr * (EvalState::*)(const SourcePath &, const std::shared_ptr<StaticEnv> &)>(&EvalState::parseExprFromFile);
[[maybe_unused]] inline constexpr auto sig_parse_string = static_cast<Expr * (EvalState::*)(
    std::string, const SourcePath &, const std::shared_ptr<StaticEnv> &)>(&EvalState::parseExprFromString);
[[maybe_unused]] inline constexpr auto sig_eval_file =
    static_cast<void (EvalState::*)(const SourcePath &, Value &, bool)>(&EvalState::evalFile);
[[maybe_unused]] inline constexpr auto sig_realise = static_cast<nix::StringMap (EvalState::*)(
    const NixStringContext &, StorePathSet *, bool)>(&EvalState::realiseContext);
} // namespace detail

} // namespace nixperf::shim
