// The shims that are the same on Nix 2.26 … 2.35: AST and source scanning, `with` lookups, the
// callFunction signature (span of arguments, PosIdx), realiseContext (IFD), error messages and
// interrupts (positions: shim_pos_since_2_26.hh). Included by shim_2_26.hh and
// shim_since_2_28.hh, inside namespace nixperf::shim, after each has defined what these use
// (origin_of, the AST accessors).
#pragma once

// AttrName leaves `expr` uninitialised for static names: only dynamic ones (`a.${x}`) have one.
inline nix::Expr * attr_name_expr(const nix::AttrName & n) { return n.symbol ? nullptr : n.expr; }
// Whether an attribute's value expression is turned into a thunk (`inherit x;` is a plain
// variable reference; `inherit (e) x;` is a select from `e`, a thunk like any value).
inline bool attr_def_thunked(const nix::ExprAttrs::AttrDef & d)
{
    return d.kind != nix::ExprAttrs::AttrDef::Kind::Inherited;
}
// Whether an attribute was written with `inherit`: `inherit a;` and `inherit (e) a;` alike.
inline bool attr_def_inherited(const nix::ExprAttrs::AttrDef & d)
{
    return d.kind != nix::ExprAttrs::AttrDef::Kind::Plain;
}
// The `e` of `inherit (e) a b;`: since 2.26 evaluated once per attribute set, as a thunk in an
// environment of its own (ExprAttrs::buildInheritFromEnv), not as part of each attribute.
template<typename F>
void for_each_inherit_from(const nix::ExprAttrs & a, F && f)
{
    if (a.inheritFromExprs)
        for (auto * e : *a.inheritFromExprs) f(e);
}
inline void show_expr(EvalState * state, const nix::Expr & e, std::ostream & os) { e.show(state->symbols, os); }

inline std::pair<uint32_t, uint32_t> with_pos(EvalState * s, const nix::ExprWith & w) { return pos_line_col(s, w.pos); }

namespace detail {
// The source text of a file, kept for the file being instrumented (findings of one AST are
// looked up together; only `rec` sets and large `let`s ask).
inline std::string_view source_of(const nix::PosTable::Origin * o)
{
    static const nix::PosTable::Origin * last = nullptr;
    static auto * text = new std::string;
    if (o != last) {
        *text = nix::Pos(0, 0, o->origin).getSource().value_or("");
        last = o;
    }
    return *text;
}

// Skips whitespace and comments forward from `p`.
inline size_t skip_blank(std::string_view src, size_t p)
{
    while (p < src.size()) {
        if (std::isspace((unsigned char) src[p])) p++;
        else if (src[p] == '#') {
            auto e = src.find('\n', p);
            p = e == std::string_view::npos ? src.size() : e + 1;
        } else if (src.substr(p, 2) == "/*") {
            auto e = src.find("*/", p + 2);
            p = e == std::string_view::npos ? src.size() : e + 2;
        } else break;
    }
    return p;
}
} // namespace detail

// Since 2.26 the parser positions `rec { … }` at the `rec` keyword, 2.8's at the `{`: report the
// `{`, so that a finding keeps its position across Nix versions.
inline std::pair<uint32_t, uint32_t> rec_pos(EvalState * state, const nix::ExprAttrs & a)
{
    auto * o = origin_of(state, a.pos);
    if (!o) return {0, 0};
    uint32_t off = o->offsetOf(a.pos);
    auto src = detail::source_of(o);
    if (src.substr(off, 3) == "rec") {
        size_t brace = detail::skip_blank(src, off + 3);
        if (brace < src.size() && src[brace] == '{') off = uint32_t(brace);
    }
    return detail::offset_line_col(o, off);
}

namespace detail {
// Where a line comment starts on the line [bol, end), scanning forward so that a `#` in a
// "string" does not count; npos if none.
inline size_t line_comment_start(std::string_view src, size_t bol, size_t end)
{
    bool in_string = false;
    for (size_t i = bol; i < end; i++) {
        char c = src[i];
        if (in_string) {
            if (c == '\\') i++;
            else if (c == '"') in_string = false;
        } else if (c == '"') in_string = true;
        else if (c == '#') return i;
    }
    return std::string_view::npos;
}

// The offset of the `let` keyword whose first binding starts at `off`: only whitespace,
// comments and `inherit` / `inherit (…)` may lie between them. npos if not found that way.
inline size_t let_keyword_before(std::string_view src, size_t off)
{
    auto ident = [](char c) { return std::isalnum((unsigned char) c) || c == '_' || c == '\'' || c == '-'; };
    auto keyword_at_end = [&](size_t p, std::string_view kw) {
        return p >= kw.size() && src.substr(p - kw.size(), kw.size()) == kw
            && (p == kw.size() || !ident(src[p - kw.size() - 1]));
    };
    size_t p = std::min(off, src.size());
    for (int steps = 0; steps < 10000; steps++) {
        while (p > 0 && std::isspace((unsigned char) src[p - 1])) p--;
        if (p >= 2 && src[p - 1] == '/' && src[p - 2] == '*') { // end of a block comment
            auto b = p >= 3 ? src.rfind("/*", p - 3) : std::string_view::npos;
            if (b == std::string_view::npos) return b;
            p = b;
            continue;
        }
        size_t bol = p == 0 ? 0 : src.rfind('\n', p - 1);
        bol = bol == std::string_view::npos ? 0 : (p == 0 ? 0 : bol + 1);
        if (auto h = line_comment_start(src, bol, p); h != std::string_view::npos) {
            p = h;
            continue;
        }
        if (keyword_at_end(p, "let")) return p - 3;
        if (keyword_at_end(p, "inherit")) { p -= 7; continue; }
        if (p > 0 && src[p - 1] == ')') { // `inherit (e)`
            int depth = 0;
            do {
                char c = src[--p];
                depth += c == ')' ? 1 : c == '(' ? -1 : 0;
            } while (p > 0 && depth > 0);
            if (depth) return std::string_view::npos;
            continue;
        }
        return std::string_view::npos;
    }
    return std::string_view::npos;
}
} // namespace detail

// The chain of `with` scopes a variable is looked up in, as lookupVar walks it since 2.26: the
// variable knows its innermost ExprWith, each ExprWith its parent and how many environments up
// that one's set lives. Only used after a successful lookup, so every scope up to the resolving
// one holds its evaluated attribute set.
class WithCursor
{
    nix::Env * e;
    const nix::ExprWith * w;
public:
    WithCursor(const nix::ExprVar & var, nix::Env & env) : e(&env), w(var.fromWith)
    {
        for (auto l = var.level; l; --l) e = e->up;
    }
    bool evaluated() const { return w && e->values[0] && e->values[0]->type() == nix::nAttrs; }
    bool has(nix::Symbol name) const { return e->values[0]->attrs()->get(name) != nullptr; }
    // To the next enclosing `with`; false if there is none.
    bool next()
    {
        if (!w || !w->parentWith) return false;
        for (size_t l = w->prevWith; l; --l) e = e->up;
        w = w->parentWith;
        return true;
    }
};

// ---- calls ------------------------------------------------------------------------------
#define NIXPERF_CALLFUNCTION_SYMBOL \
    "_ZN3nix9EvalState12callFunctionERNS_5ValueESt4spanIPS1_Lm18446744073709551615EES2_NS_6PosIdxE"
using CallFunctionFn = void (*)(EvalState *, Value &, std::span<Value *>, Value &, PosRef);

// The arguments of one call; a curried call is split into its first argument and the rest.
struct Args
{
    std::span<Value *> s;
    size_t size() const { return s.size(); }
    Args head() const { return {s.subspan(0, 1)}; }
    Args tail() const { return {s.subspan(1)}; }
};

// The GOT slot's signature, forwarding to a version-independent hook.
template<void (*Impl)(EvalState *, Value &, Args, Value &, PosRef)>
void call_entry(EvalState * state, Value & fun, std::span<Value *> args, Value & vRes, PosRef pos)
{
    Impl(state, fun, Args{args}, vRes, pos);
}
inline void call_orig(CallFunctionFn f, EvalState * state, Value & fun, Args args, Value & vRes, PosRef pos)
{
    f(state, fun, args.s, vRes, pos);
}

inline bool is_lambda(const Value & v) { return v.isLambda(); }
inline bool is_primop(const Value & v) { return v.isPrimOp(); }
inline bool is_primop_app(const Value & v) { return v.isPrimOpApp(); }

// ---- import from derivation -------------------------------------------------------------
// realiseContext(const NixStringContext &, StorePathSet * maybePaths, bool isIFD): a PLT call of
// libnixexpr in 2.26 and 2.34 (from realisePath — import, readFile, pathExists, readDir… — and
// the other primops that realise a string), with structured context elements. (2.34's
// StringMap is std::map<…, std::less<>>; return types are not mangled.)
#define NIXPERF_REALISE_CONTEXT_SYMBOL \
    "_ZN3nix9EvalState14realiseContextB5cxx11ERKSt3setINS_20NixStringContextElemESt4lessIS2_ESaIS2_EEPS1_INS_9StorePathES3_IS9_ESaIS9_EEb"
// Returns by value: the sret pointer goes first, then `this`, as for a free function.
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

// ---- errors -----------------------------------------------------------------------------
// 2.26 and 2.34 format an error's what() lazily, reading source files through caches that are already
// destroyed when our on_exit handler runs (segfault); take the message while Nix is alive, from
// the unformatted ErrorInfo (the non-const info() does not format).
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
