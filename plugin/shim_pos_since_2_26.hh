// Positions and symbols on Nix >= 2.26, where a position is a PosIdx into the EvalState's
// PosTable and a symbol an index into its SymbolTable: the file key, name, line and column of a
// position, the call-site key of the hot path, a symbol's name. The
// same code for 2.26 … 2.35; included by shim_2_26.hh and shim_since_2_28.hh inside namespace
// nixperf::shim, after `using PosRef = nix::PosIdx`.
#pragma once

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

// resolve() is a std::map search. Lookups come in runs from the same file (a new site, the
// lambdas defined there, the findings of one AST): the last origin found is checked first
// (origins are contiguous ranges of position ids, never moved or removed while evaluating).
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

// Line and column of a position. Not through `positions[p]`: in 2.26 that copies its cached
// line table instead of keeping it (`auto linesForInput = (*lines)[…]`), so it re-reads and
// re-scans the whole source file on every lookup (15 s instead of 0.1 s for the modsys
// fixture); 2.34's caches properly but under a lock with an LRU lookup. We keep each file's
// line starts ourselves (one evaluator thread: no lock).
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
    auto * o = origin_of(state, p);
    if (!o) return {0, 0};
    return detail::offset_line_col(o, o->offsetOf(p));
}

// A position is an index into the evaluator's PosTable, fixed once parsed: the hot path keys a
// call site by it and resolves file, line and column only for a new site (pos_file_key,
// pos_line_col). One EvalState per process, as the nix commands have: another one's indices
// would alias.
inline SiteKey site_key(EvalState *, PosRef p)
{
    uint32_t id = uint32_t(p.hash());
    return id ? SiteKey{SITE_BY_INDEX, id} : SiteKey{0, 0};
}

inline std::string symbol_str(EvalState * state, nix::Symbol s)
{
    return s ? std::string(std::string_view(state->symbols[s])) : std::string();
}
