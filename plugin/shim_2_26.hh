// Nix 2.26 half of plugin/shim.hh (included from there only): headers flat under include/nix/,
// positions as PosIdx into the EvalState's PosTable, symbols as indices into its SymbolTable,
// callFunction taking a std::span of arguments. Only the call hook is ported so far: file,
// thunk, findings and IFD hooks still need their 2.26 shims (notes/nixver.md).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
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

#define NIXPERF_HAVE_FILE_HOOKS 0
#define NIXPERF_HAVE_IFD_HOOK 0

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

inline const void * pos_file_key(EvalState * state, PosRef p)
{
    return (state->positions.*detail::resolve_ptr())(p);
}

inline constexpr std::string_view STRING_FILE = "\xC2\xABstring\xC2\xBB";
inline std::string pos_file(EvalState * state, PosRef p)
{
    auto origin = state->positions.originOf(p);
    if (auto * path = std::get_if<nix::SourcePath>(&origin)) return path->path.abs();
    if (std::holds_alternative<nix::Pos::String>(origin)) return std::string(STRING_FILE);
    if (std::holds_alternative<nix::Pos::Stdin>(origin)) return "\xC2\xABstdin\xC2\xBB";
    return {};
}
// Line and column of a position. Not through `positions[p]`: in 2.26 that copies its cached
// line table instead of keeping it (`auto linesForInput = (*lines)[…]`), so it re-reads and
// re-scans the whole source file on every lookup — 15 s instead of 0.1 s for the modsys fixture.
// We keep each file's line starts ourselves (one evaluator thread in 2.26: no lock).
inline std::pair<uint32_t, uint32_t> pos_line_col(EvalState * state, PosRef p)
{
    auto * o = static_cast<const nix::PosTable::Origin *>(pos_file_key(state, p));
    if (!o) return {0, 0};
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
    uint32_t off = o->offsetOf(p);
    auto line = std::prev(std::upper_bound(last_lines->begin(), last_lines->end(), off));
    return {uint32_t(1 + (line - last_lines->begin())), 1 + off - *line};
}

inline std::string symbol_str(EvalState * state, nix::Symbol s)
{
    return s ? std::string(std::string_view(state->symbols[s])) : std::string();
}

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
inline nix::ExprLambda * lambda_of(const Value & v) { return v.payload.lambda.fun; }
inline const nix::PrimOp * primop_of(const Value & v) { return v.primOp(); }
inline const Value * primop_app_left(const Value & v) { return v.payload.primOpApp.left; }
inline std::string_view primop_name(const nix::PrimOp & p) { return p.name; }
inline bool needs_force(const Value & v) { return v.isThunk() || v.isApp(); }

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

} // namespace nixperf::shim
