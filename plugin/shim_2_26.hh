// Nix 2.26–2.27 half of plugin/shim.hh (included from there only): headers flat under include/nix/,
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

#include "shim_pos_since_2_26.hh"

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

// ---- import from derivation, errors, interrupts: as in 2.34 (shim_since_2_26.hh) ----------
// ---- AST vtables ------------------------------------------------------------------------
// Virtual slots of nix::Expr in 2.26: two destructors, show, bindVars, eval, maybeThunk,
// setName, setDocComment, getPos, resetCursedOr, warnIfCursedOr. No subclass adds a virtual
// function (checked in nixexpr.hh), so every Expr vtable has exactly this many slots.
inline constexpr size_t EXPR_VTABLE_SLOTS = 11;

#include "shim_sigs_since_2_26.hh"

} // namespace nixperf::shim
