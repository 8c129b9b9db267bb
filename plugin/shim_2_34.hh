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

// PosTable::resolve (private) gives the origin of a position as a pointer into a std::map node:
// stable, one per file, and cheap — a file key for the hot path. Explicit instantiation may
// name private members; this is the standard way to reach one without changing Nix.
namespace detail {
using ResolveFn = const nix::PosTable::Origin * (nix::PosTable::*)(nix::PosIdx) const;
template<ResolveFn F>
struct Thief
{
    friend ResolveFn resolve_ptr() { return F; }
};
ResolveFn resolve_ptr();
template struct Thief<&nix::PosTable::resolve>;
} // namespace detail

// Every call asks for its site's origin, and resolve() is a std::map search. Consecutive calls
// mostly come from the same file: the last origin found is checked first (origins are
// contiguous ranges of position ids, never moved or removed while evaluating).
inline const nix::PosTable::Origin * origin_of(EvalState * state, PosRef p)
{
    static const nix::PosTable * last_table = nullptr;
    static const nix::PosTable::Origin * last = nullptr;
    if (last && last_table == &state->positions && p && last->offsetOf(p) < last->size) return last;
    auto * o = (state->positions.*detail::resolve_ptr())(p);
    if (o) {
        last = o;
        last_table = &state->positions;
    }
    return o;
}

inline const void * pos_file_key(EvalState * state, PosRef p) { return origin_of(state, p); }

inline constexpr std::string_view STRING_FILE = "\xC2\xABstring\xC2\xBB";
inline std::string pos_file(EvalState * state, PosRef p)
{
    auto origin = state->positions.originOf(p);
    if (auto * path = std::get_if<nix::SourcePath>(&origin)) return path->to_string();
    if (std::holds_alternative<nix::Pos::String>(origin)) return std::string(STRING_FILE);
    if (std::holds_alternative<nix::Pos::Stdin>(origin)) return "\xC2\xABstdin\xC2\xBB";
    return {};
}

// Line and column of a position. 2.34's `positions[p]` caches line tables properly, but under
// a lock and with an LRU lookup per call; our own per-file table is cheaper on the hot path
// (one evaluator thread: no lock).
namespace detail {
inline const std::vector<uint32_t> & line_starts(const nix::PosTable::Origin * o)
{
    static auto * cache = new std::unordered_map<const void *, std::vector<uint32_t>>;
    static const void * last_origin = nullptr;
    static std::vector<uint32_t> * last_lines = nullptr;
    if (o != last_origin) {
        auto [it, fresh] = cache->try_emplace(o);
        if (fresh) {
            auto source = nix::Pos(0, 0, o->origin).getSource().value_or("");
            for (nix::Pos::LinesIterator l(source), end; l != end; l++)
                it->second.push_back(uint32_t(l->data() - source.data()));
            if (it->second.empty()) it->second.push_back(0);
        }
        last_origin = o;
        last_lines = &it->second;
    }
    return *last_lines;
}
inline std::pair<uint32_t, uint32_t> offset_line_col(const nix::PosTable::Origin * o, uint32_t off)
{
    auto & lines = line_starts(o);
    // The line of the previous lookup first: a call site in a loop is looked up again and again.
    static const std::vector<uint32_t> * last_lines = nullptr;
    static size_t last = 0;
    if (&lines == last_lines && last < lines.size() && lines[last] <= off
        && (last + 1 == lines.size() || off < lines[last + 1]))
        return {uint32_t(1 + last), 1 + off - lines[last]};
    auto line = std::prev(std::upper_bound(lines.begin(), lines.end(), off));
    last_lines = &lines;
    last = size_t(line - lines.begin());
    return {uint32_t(1 + last), 1 + off - *line};
}
} // namespace detail

// Every call asks for its site's line and column. Call sites repeat, so a direct-mapped cache
// by position id (checked against the origin, in case the PosTable was cleared and refilled)
// answers most of them without the binary search (callgrind, evalModules workload: the line
// lookup cost 172 M instructions, ~4 % of the run, before this cache).
inline std::pair<uint32_t, uint32_t> pos_line_col(EvalState * state, PosRef p)
{
    auto * o = origin_of(state, p);
    if (!o) return {0, 0};
    struct Entry
    {
        const nix::PosTable::Origin * origin;
        uint32_t id, line, col;
    };
    static Entry cache[4096];
    auto id = uint32_t(p.hash());
    auto & e = cache[id & 4095];
    if (e.id == id && e.origin == o) return {e.line, e.col};
    auto [line, col] = detail::offset_line_col(o, o->offsetOf(p));
    e = {o, id, line, col};
    return {line, col};
}

inline std::string symbol_str(EvalState * state, nix::Symbol s)
{
    return s ? std::string(std::string_view(state->symbols[s])) : std::string();
}

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

// ---- import from derivation ----------------------------------------------------------------
// realiseContext(const NixStringContext &, StorePathSet * maybePaths, bool isIFD), as in 2.26
// (its StringMap is now std::map<…, std::less<>>; return types are not mangled).
#define NIXPERF_REALISE_CONTEXT_SYMBOL \
    "_ZN3nix9EvalState14realiseContextB5cxx11ERKSt3setINS_20NixStringContextElemESt4lessIS2_ESaIS2_EEPS1_INS_9StorePathES3_IS9_ESaIS9_EEb"
using RealiseContextFn = nix::StringMap (*)(EvalState *, const nix::NixStringContext &, nix::StorePathSet *, bool);
struct RealiseArgs
{
    const nix::NixStringContext & context;
    nix::StorePathSet * paths;
    bool isIFD;
};
template<nix::StringMap (*Impl)(EvalState *, const RealiseArgs &)>
nix::StringMap realise_entry(EvalState * state, const nix::NixStringContext & context, nix::StorePathSet * paths, bool isIFD)
{
    return Impl(state, RealiseArgs{context, paths, isIFD});
}
inline nix::StringMap realise_orig(RealiseContextFn f, EvalState * state, const RealiseArgs & a)
{
    return f(state, a.context, a.paths, a.isIFD);
}
// The derivations a context makes evaluation realise, space-separated ("" if none), written as
// 2.8 writes them: an output `<drv>^<output>`, a derivation with its closure (`=`) `<drv>`.
inline std::string context_derivations(EvalState * state, const RealiseArgs & a)
{
    std::string drvs;
    for (auto & c : a.context) {
        std::string d;
        if (auto * b = std::get_if<nix::NixStringContextElem::Built>(&c.raw))
            d = b->drvPath->to_string(*state->store) + "^" + b->output;
        else if (auto * deep = std::get_if<nix::NixStringContextElem::DrvDeep>(&c.raw))
            d = state->store->printStorePath(deep->drvPath);
        else
            continue;
        if (!drvs.empty()) drvs += ' ';
        drvs += d;
    }
    return drvs;
}

// ---- evaluator statistics -------------------------------------------------------------------
// Counter::enabled was read from NIX_SHOW_STATS when libnixexpr was loaded, before our
// request_stats() set it: switch the counters (and maybePrintStats) on ourselves.
#define NIXPERF_SHIM_STATS_REQUESTED 1
inline void stats_requested() { nix::Counter::enabled = true; }

// ---- errors -----------------------------------------------------------------------------
// As in 2.26, what() formats lazily, reading sources through caches that are gone at exit:
// take the message while Nix is alive, from the unformatted ErrorInfo.
#define NIXPERF_WHAT_AT_EXIT_IS_SAFE 0
inline std::string exception_summary(const std::exception_ptr & e)
{
    try {
        std::rethrow_exception(e);
    } catch (nix::BaseError & x) {
        return x.info().msg.str();
    } catch (std::exception & x) {
        return x.what();
    } catch (...) {
        return "unknown exception";
    }
}

// ---- interrupts ---------------------------------------------------------------------------
inline bool interrupted() { return nix::unix::_isInterrupted.load(std::memory_order_relaxed); }

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
