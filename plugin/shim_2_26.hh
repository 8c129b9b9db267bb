// Nix 2.26 half of plugin/shim.hh (included from there only): headers flat under include/nix/,
// positions as PosIdx into the EvalState's PosTable, symbols as indices into its SymbolTable,
// callFunction taking a std::span of arguments, files as SourcePath, string contexts as
// structured NixStringContextElem, an Expr vtable of 11 slots. Every hook family of 2.8 has its
// 2.26 shims here (calls, files/thunks/findings, IFD).
#pragma once

#include <cctype>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <algorithm>
#include <exception>
#include <unordered_map>
#include <utility>
#include <vector>

// 2.26 forces no config.h: a plugin includes the generated config headers first.
#include "config-util.hh"
#include "config-store.hh"
#include "config-expr.hh"

#include "eval.hh"
#include "eval-inline.hh"
#include "nixexpr.hh"
#include "primops.hh"
#include "config.hh"
#include "globals.hh"
#include "signals.hh"
#include "config-global.hh"
#include "store-api.hh"
#include "derived-path.hh"
#include "value/context.hh"

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

// Every call asks for its site's origin (twice: file key, then line/column), and resolve() is a
// std::map search. Consecutive calls mostly come from the same file: the last origin found is
// checked first (origins are contiguous ranges of position ids, never moved or removed).
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

namespace detail {
inline std::pair<uint32_t, uint32_t> offset_line_col(const nix::PosTable::Origin * o, uint32_t off);

// Every call resolves its site (file key, then line/column): a direct-mapped cache by position
// id answers repeated sites with one compare; a miss resolves through origin_of and the line
// table. Keyed by the PosTable too (another EvalState has its own ids).
struct SiteEntry
{
    uint32_t id = 0; // 0 = noPos: no origin, line 0
    uint32_t line = 0, col = 0;
    const nix::PosTable::Origin * origin = nullptr;
};
inline uint32_t pos_id(nix::PosIdx p)
{
    uint32_t id;
    static_assert(sizeof p == sizeof id);
    std::memcpy(&id, &p, sizeof id);
    return id;
}
inline constexpr size_t SITE_CACHE = size_t(1) << 14;
inline const SiteEntry & site(EvalState * state, PosRef p)
{
    static auto * table = new SiteEntry[SITE_CACHE];
    static const nix::PosTable * owner = nullptr;
    if (__builtin_expect(owner != &state->positions, 0)) {
        std::fill(table, table + SITE_CACHE, SiteEntry{});
        owner = &state->positions;
    }
    uint32_t id = pos_id(p);
    auto & e = table[id & (SITE_CACHE - 1)];
    if (e.id != id) {
        e.id = id;
        e.origin = origin_of(state, p);
        std::tie(e.line, e.col) = e.origin ? offset_line_col(e.origin, e.origin->offsetOf(p)) : std::pair<uint32_t, uint32_t>{0, 0};
    }
    return e;
}
} // namespace detail

inline const void * pos_file_key(EvalState * state, PosRef p)
{
    return detail::site(state, p).origin;
}

inline constexpr std::string_view STRING_FILE = "\xC2\xABstring\xC2\xBB";
inline std::string pos_file(EvalState * state, PosRef p)
{
    auto origin = state->positions.originOf(p);
    if (auto * path = std::get_if<nix::SourcePath>(&origin)) return path->to_string();
    if (std::holds_alternative<nix::Pos::String>(origin)) return std::string(STRING_FILE);
    if (std::holds_alternative<nix::Pos::Stdin>(origin)) return "\xC2\xABstdin\xC2\xBB";
    return {};
}
// Line and column of a position. Not through `positions[p]`: in 2.26 that copies its cached
// line table instead of keeping it (`auto linesForInput = (*lines)[…]`), so it re-reads and
// re-scans the whole source file on every lookup — 15 s instead of 0.1 s for the modsys fixture.
// We keep each file's line starts ourselves (one evaluator thread in 2.26: no lock).
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

inline std::pair<uint32_t, uint32_t> pos_line_col(EvalState * state, PosRef p)
{
    auto & e = detail::site(state, p);
    return {e.line, e.col};
}

inline std::string symbol_str(EvalState * state, nix::Symbol s)
{
    return s ? std::string(std::string_view(state->symbols[s])) : std::string();
}

// ---- AST ---------------------------------------------------------------------------------
#include "shim_since_2_26.hh"

// 2.26 keeps no position for a `let` (neither ExprLet nor its bindings' ExprAttrs has one): the
// `let` keyword is found in the source before the first binding (2.8 positions it there too).
// Falls back to the first binding's position. Only large lets (findings) ask.
inline std::pair<uint32_t, uint32_t> let_pos(EvalState * state, const nix::ExprLet & l)
{
    nix::PosIdx first;
    for (auto & [_, d] : l.attrs->attrs)
        if (d.pos && (!first || d.pos < first)) first = d.pos;
    auto * o = origin_of(state, first);
    if (!o) return {0, 0};
    uint32_t off = o->offsetOf(first);
    if (auto k = detail::let_keyword_before(detail::source_of(o), off); k != std::string_view::npos) off = uint32_t(k);
    return detail::offset_line_col(o, off);
}

// Whether `v` is a (not yet forced) thunk of expression `e`.
inline bool is_thunk_of(const Value & v, const nix::Expr * e) { return v.isThunk() && v.payload.thunk.expr == e; }

// ---- calls: Value accessors (the callFunction signature is in shim_since_2_26.hh) ---------
inline nix::ExprLambda * lambda_of(const Value & v) { return v.payload.lambda.fun; }
inline const nix::PrimOp * primop_of(const Value & v) { return v.primOp(); }
inline const Value * primop_app_left(const Value & v) { return v.payload.primOpApp.left; }
inline std::string_view primop_name(const nix::PrimOp & p) { return p.name; }
inline bool needs_force(const Value & v) { return v.isThunk() || v.isApp(); }

// ---- files ------------------------------------------------------------------------------
// Files are SourcePaths (an accessor and a path in it), named as Nix shows them, as positions
// are (pos_file), so that calls, thunks and parses of a file meet in one row: the absolute path
// for files of the file system, `<nix/fetchurl.nix>` for corepkgs, `«nix-internal»/…` for
// built-in files such as `derivation`'s.
using FilePath = nix::SourcePath;
using StaticEnvRef = std::shared_ptr<nix::StaticEnv> &;
inline std::string file_path_str(const FilePath & p) { return p.to_string(); }
inline std::string resolved_expr_path(const FilePath & p) { return nix::resolveExprPath(p).to_string(); }
// All three are still PLT calls inside libnixexpr.so (JUMP_SLOT relocations): the one-argument
// overloads (what nix-instantiate, `nix eval` and evalFile call) forward to these through the
// PLT, `import` calls evalFile and `scopedImport` parseExprFromFile through it. Parsing stdin
// (parseStdin → parse) is not hooked, as in 2.8.
#define NIXPERF_PARSE_FILE_SYMBOL "_ZN3nix9EvalState17parseExprFromFileERKNS_10SourcePathERSt10shared_ptrINS_9StaticEnvEE"
using ParseFileFn = Expr * (*)(EvalState *, const FilePath &, StaticEnvRef);
#define NIXPERF_PARSE_STRING_SYMBOL \
    "_ZN3nix9EvalState19parseExprFromStringENSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEERKNS_10SourcePathERSt10shared_ptrINS_9StaticEnvEE"
using ParseStringFn = Expr * (*)(EvalState *, std::string, const FilePath &, StaticEnvRef);
#define NIXPERF_EVAL_FILE_SYMBOL "_ZN3nix9EvalState8evalFileERKNS_10SourcePathERNS_5ValueEb"
using EvalFileFn = void (*)(EvalState *, const FilePath &, Value &, bool);

// ---- import from derivation ----------------------------------------------------------------
// realiseContext(const NixStringContext &, StorePathSet * maybePaths, bool isIFD): still a PLT
// call of libnixexpr (from realisePath — import, readFile, pathExists, readDir… — and the other
// primops that realise a string), now with structured context elements.
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
// 2.26 formats an error's what() lazily, reading source files through caches that are already
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

// ---- AST vtables ------------------------------------------------------------------------
// Virtual slots of nix::Expr in 2.26: two destructors, show, bindVars, eval, maybeThunk,
// setName, setDocComment, getPos, resetCursedOr, warnIfCursedOr. No subclass adds a virtual
// function (checked in nixexpr.hh), so every Expr vtable has exactly this many slots.
inline constexpr size_t EXPR_VTABLE_SLOTS = 11;

} // namespace nixperf::shim
