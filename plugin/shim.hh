// The one place where Nix versions differ for the plugin. Every other file of plugin/ uses only
// what this header defines. Version macros come from build.rs (pkg-config's version of nix-expr).
#pragma once

#ifndef NIXPERF_NIX_MAJOR
#error "build.rs defines NIXPERF_NIX_MAJOR/MINOR/PATCH"
#endif

#define NIXPERF_NIX_AT_LEAST(maj, min) \
    (NIXPERF_NIX_MAJOR > (maj) || (NIXPERF_NIX_MAJOR == (maj) && NIXPERF_NIX_MINOR >= (min)))

// Supported: Nix 2.8 and every release from 2.26 to the newest below (by API epoch: 2.26–2.27
// shim_2_26.hh; 2.28–2.35 shim_since_2_28.hh). build.rs says the same before compiling.
#define NIXPERF_NIX_LAST_SUPPORTED "2.35"
#if NIXPERF_NIX_AT_LEAST(2, 36)
#error "nixperf's plugin supports Nix up to 2.35 (the newest supported version); this Nix is newer: port plugin/shim*.hh to it first"
#elif NIXPERF_NIX_AT_LEAST(2, 9) && !NIXPERF_NIX_AT_LEAST(2, 26)
#error "nixperf's plugin supports Nix 2.8 and 2.26 ... 2.35; Nix 2.9 ... 2.25 have no shims"
#endif

#include <cstdint>

#include "nixperf/src/recorder/bridge.rs.h"

namespace nixperf::shim {
// A call site as the recorder's hot path keys it: a file key and `line << 32 | column`, or
// (Nix >= 2.26) SITE_BY_INDEX and the position's index, which costs nothing to get and is
// resolved once per new site (src/recorder/bridge.rs, `SiteFile`).
struct SiteKey
{
    uintptr_t file;
    uint64_t pos;
};
inline constexpr uintptr_t SITE_BY_INDEX = uintptr_t(rec::SiteFile::ByIndex);
} // namespace nixperf::shim

#if NIXPERF_NIX_AT_LEAST(2, 28)
#include "shim_since_2_28.hh"
#elif NIXPERF_NIX_AT_LEAST(2, 26)
#include "shim_2_26.hh"
#else

#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "eval.hh"
#include "eval-inline.hh"
#include "nixexpr.hh"
#include "primops.hh"
#include "config.hh"
#include "globals.hh"

// Hook families this Nix version has shims for (plugin.cc installs only these).
#define NIXPERF_HAVE_FILE_HOOKS 1
#define NIXPERF_HAVE_IFD_HOOK 1

namespace nixperf::shim {

using nix::EvalState;
using nix::Expr;
using nix::Value;

// ---- positions --------------------------------------------------------------------------
// Nix 2.8: a Pos holds its file as an interned Symbol (a pointer to a std::string), so the
// pointer itself identifies the file cheaply on the hot path.
using PosRef = const nix::Pos &;

inline const void * pos_file_key(PosRef p)
{
    const void * s;
    static_assert(sizeof(nix::Symbol) == sizeof(void *));
    std::memcpy(&s, &p.file, sizeof s);
    return s;
}
// Expressions parsed from strings (--expr, -E) carry their whole text as the file symbol.
inline constexpr std::string_view STRING_FILE = "\xC2\xABstring\xC2\xBB";
inline std::string_view pos_file(PosRef p)
{
    if (!pos_file_key(p)) return {};
    if (p.origin != nix::foFile) return STRING_FILE;
    return std::string_view((const std::string &) p.file);
}
inline uint32_t pos_line(PosRef p) { return p.line; }
inline uint32_t pos_col(PosRef p) { return p.column; }

inline std::string_view symbol_str(const nix::Symbol & s)
{
    return s.set() ? std::string_view((const std::string &) s) : std::string_view();
}

// The same with the EvalState, which newer Nix versions need to resolve positions and symbols.
inline const void * pos_file_key(EvalState *, PosRef p) { return pos_file_key(p); }
inline std::string_view pos_file(EvalState *, PosRef p) { return pos_file(p); }
inline std::pair<uint32_t, uint32_t> pos_line_col(EvalState *, PosRef p) { return {p.line, p.column}; }
// A 2.8 Pos carries its file and line/column: the site key is them.
inline SiteKey site_key(EvalState *, PosRef p) { return {uintptr_t(pos_file_key(p)), (uint64_t(p.line) << 32) | p.column}; }
inline std::string_view symbol_str(EvalState *, const nix::Symbol & s) { return symbol_str(s); }

// ---- AST ---------------------------------------------------------------------------------
// AttrName leaves `expr` uninitialised for static names: only dynamic ones (`a.${x}`) have one.
inline nix::Expr * attr_name_expr(const nix::AttrName & n) { return n.symbol.set() ? nullptr : n.expr; }
// Whether an attribute's value expression is turned into a thunk (`inherit x;` is a plain
// variable reference, never a thunk of its own).
inline bool attr_def_thunked(const nix::ExprAttrs::AttrDef & d) { return !d.inherited; }
// Whether an attribute was written with `inherit`. 2.8's parser desugars `inherit (e) a;` into
// `a = e.a;` (a plain attribute): only `inherit a;` reads as inherited here.
inline bool attr_def_inherited(const nix::ExprAttrs::AttrDef & d) { return d.inherited; }
// The `x` of `inherit (x) a b;`: 2.8 desugars it into one `x.a` select per attribute, walked
// as attribute values already.
template<typename F>
void for_each_inherit_from(const nix::ExprAttrs &, F &&) { }
inline void show_expr(EvalState *, const nix::Expr & e, std::ostream & os) { e.show(os); }
// Where a finding points: `with` and `rec { }` carry their position; a `let` is its bindings'
// ExprAttrs, positioned at the `let` keyword.
inline std::pair<uint32_t, uint32_t> with_pos(EvalState * s, const nix::ExprWith & w) { return pos_line_col(s, w.pos); }
inline std::pair<uint32_t, uint32_t> rec_pos(EvalState * s, const nix::ExprAttrs & a) { return pos_line_col(s, a.pos); }
inline std::pair<uint32_t, uint32_t> let_pos(EvalState * s, const nix::ExprLet & l) { return pos_line_col(s, l.attrs->pos); }
// Whether `v` is a (not yet forced) thunk of expression `e`.
inline bool is_thunk_of(const Value & v, const nix::Expr * e) { return v.isThunk() && v.thunk.expr == e; }

// The chain of `with` scopes a variable is looked up in, as Nix's lookupVar walks it: from the
// innermost `with` environment outwards. Only used after a successful lookup, so every scope up
// to the resolving one holds its evaluated attribute set.
class WithCursor
{
    nix::Env * e;
public:
    WithCursor(const nix::ExprVar & var, nix::Env & env) : e(&env)
    {
        for (auto l = var.level; l; --l) e = e->up;
    }
    bool evaluated() const { return e->type == nix::Env::HasWithAttrs; }
    bool has(const nix::Symbol & name) const
    {
        auto * attrs = e->values[0]->attrs;
        return attrs->find(name) != attrs->end();
    }
    // To the next enclosing `with`; false if there is none.
    bool next()
    {
        if (!e->prevWith) return false;
        for (size_t l = e->prevWith; l; --l) e = e->up;
        return true;
    }
};

// ---- calls ------------------------------------------------------------------------------
#define NIXPERF_CALLFUNCTION_SYMBOL "_ZN3nix9EvalState12callFunctionERNS_5ValueEmPPS1_S2_RKNS_3PosE"
using CallFunctionFn = void (*)(EvalState *, Value &, size_t, Value **, Value &, PosRef);

// The arguments of one call; a curried call is split into its first argument and the rest.
struct Args
{
    size_t n;
    Value ** v;
    size_t size() const { return n; }
    Args head() const { return {1, v}; }
    Args tail() const { return {n - 1, v + 1}; }
};

// The GOT slot's signature, forwarding to a version-independent hook.
template<void (*Impl)(EvalState *, Value &, Args, Value &, PosRef)>
void call_entry(EvalState * state, Value & fun, size_t n, Value ** args, Value & vRes, PosRef pos)
{
    Impl(state, fun, Args{n, args}, vRes, pos);
}
inline void call_orig(CallFunctionFn f, EvalState * state, Value & fun, Args args, Value & vRes, PosRef pos)
{
    f(state, fun, args.n, args.v, vRes, pos);
}

inline bool is_lambda(const Value & v) { return v.isLambda(); }
inline bool is_primop(const Value & v) { return v.isPrimOp(); }
inline bool is_primop_app(const Value & v) { return v.isPrimOpApp(); }
inline nix::ExprLambda * lambda_of(const Value & v) { return v.lambda.fun; }
inline nix::PrimOp * primop_of(const Value & v) { return v.primOp; }
inline const Value * primop_app_left(const Value & v) { return v.primOpApp.left; }
inline std::string_view primop_name(const nix::PrimOp & p) { return symbol_str(p.name); }
inline bool needs_force(const Value & v) { return v.isThunk() || v.isApp(); }

// ---- files ------------------------------------------------------------------------------
// 2.8 names files by plain path strings.
using FilePath = std::string;
using StaticEnvRef = nix::StaticEnv &;
inline const std::string & file_path_str(const FilePath & p) { return p; }
inline std::string resolved_expr_path(const FilePath & p) { return nix::resolveExprPath(p); }
#define NIXPERF_PARSE_FILE_SYMBOL \
    "_ZN3nix9EvalState17parseExprFromFileERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEERNS_9StaticEnvE"
using ParseFileFn = Expr * (*)(EvalState *, const FilePath &, StaticEnvRef);
#define NIXPERF_PARSE_STRING_SYMBOL \
    "_ZN3nix9EvalState19parseExprFromStringENSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEERKS6_RNS_9StaticEnvE"
using ParseStringFn = Expr * (*)(EvalState *, std::string, const FilePath &, StaticEnvRef);
#define NIXPERF_EVAL_FILE_SYMBOL \
    "_ZN3nix9EvalState8evalFileERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEERNS_5ValueEb"
using EvalFileFn = void (*)(EvalState *, const FilePath &, Value &, bool);

// ---- import from derivation ----------------------------------------------------------------
#define NIXPERF_REALISE_CONTEXT_SYMBOL \
    "_ZN3nix9EvalState14realiseContextERKSt3setINSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEESt4lessIS7_ESaIS7_EE"
// Returns by value: the sret pointer goes first, then `this`, for a member and a free function
// alike, so this plain function type matches the member function's ABI.
using RealiseContextFn = nix::StringMap (*)(EvalState *, const nix::PathSet &);
// The arguments of one realiseContext call (besides the EvalState).
struct RealiseArgs
{
    const nix::PathSet & context;
};
// The GOT slot's signature, forwarding to a version-independent hook.
template<nix::StringMap (*Impl)(EvalState *, const RealiseArgs &)>
nix::StringMap realise_entry(EvalState * state, const nix::PathSet & context)
{
    return Impl(state, RealiseArgs{context});
}
inline nix::StringMap realise_orig(RealiseContextFn f, EvalState * state, const RealiseArgs & a)
{
    return f(state, a.context);
}
// String context entries (2.8): "!<output>!<drv>" an output of a derivation, "=<drv>" a
// derivation and its closure, a plain store path otherwise.
inline bool is_derivation_context(const std::string & c) { return !c.empty() && (c[0] == '!' || c[0] == '='); }
inline std::string derivation_of_context(const std::string & c)
{
    if (c[0] == '=') return c.substr(1);
    auto bang = c.find('!', 1);
    if (bang == std::string::npos) return c;
    return c.substr(bang + 1) + "^" + c.substr(1, bang - 1);
}
// The derivations a context makes evaluation realise, space-separated ("" if none).
inline std::string context_derivations(EvalState *, const RealiseArgs & a)
{
    std::string drvs;
    for (auto & c : a.context)
        if (is_derivation_context(c)) {
            if (!drvs.empty()) drvs += ' ';
            drvs += derivation_of_context(c);
        }
    return drvs;
}

// ---- errors -------------------------------------------------------------------------------
// 2.8 keeps an error's message in the exception: what() is safe in our on_exit handler.
#define NIXPERF_WHAT_AT_EXIT_IS_SAFE 1
inline std::string exception_summary(const std::exception_ptr &) { return {}; }

// ---- interrupts ---------------------------------------------------------------------------
inline bool interrupted() { return nix::_isInterrupted.load(std::memory_order_relaxed); }

// ---- AST vtables ------------------------------------------------------------------------
// Virtual slots of nix::Expr in 2.8: two destructors, show, bindVars, eval, maybeThunk, setName.
// No subclass adds a virtual function, so every Expr vtable has exactly this many slots.
inline constexpr size_t EXPR_VTABLE_SLOTS = 7;

} // namespace nixperf::shim

#endif // Nix 2.8

namespace nixperf::shim {

// AST containers as 2.8 and 2.26–2.27 hold them (plain members); shim_since_2_28.hh defines its own.
#ifndef NIXPERF_SHIM_AST_ACCESSORS
inline const auto & attr_defs(const nix::ExprAttrs & a) { return a.attrs; }
inline const auto & dynamic_attr_defs(const nix::ExprAttrs & a) { return a.dynamicAttrs; }
inline const auto & select_path(const nix::ExprSelect & s) { return s.attrPath; }
inline const auto & has_attr_path(const nix::ExprOpHasAttr & h) { return h.attrPath; }
inline const auto & call_args(const nix::ExprCall & c) { return c.args; }
template<typename F>
void for_each_formal_default(const nix::ExprLambda & l, F && f)
{
    if (l.hasFormals())
        for (auto & formal : l.formals->formals) f(formal.def);
}
// A lambda's attribute-set pattern `{ a, b ? 1, ... }:`: whether it has one, its names in
// source order, whether it ends in `...`.
inline bool lambda_has_formals(const nix::ExprLambda & l) { return l.hasFormals(); }
inline bool lambda_ellipsis(const nix::ExprLambda & l) { return l.hasFormals() && l.formals->ellipsis; }
template<typename F>
void for_each_formal_name(EvalState * state, const nix::ExprLambda & l, F && f)
{
    if (!l.hasFormals()) return;
    for (auto & formal : l.formals->formals) {
        auto name = symbol_str(state, formal.name);
        f(std::string_view(name));
    }
}
template<typename F>
void for_each_string_part(const nix::ExprConcatStrings & c, F && f)
{
    if (c.es)
        for (auto & [_, e] : *c.es) f(e);
}
#endif

// Nix reads NIX_SHOW_STATS at the end of evaluation (2.8, 2.26): setting it is enough.
#ifndef NIXPERF_SHIM_STATS_REQUESTED
inline void stats_requested() { }
#endif

// Whether Nix's statistics cost nothing to collect. 2.8 always counts and prints them without
// collecting garbage; from 2.26 on, maybePrintStats runs a full GC first (0.52 G instructions,
// 1.21x, on the 5000-module lib.evalModules benchmark with 2.26) and from 2.28 the counters are
// atomic increments made only when switched on (1.16x with 2.34): there the plugin collects
// them only when asked (NIXPERF_NIX_STATS=1, `nixperf eval --nix-stats`).
inline constexpr bool STATS_ARE_FREE = !NIXPERF_NIX_AT_LEAST(2, 26);

} // namespace nixperf::shim
