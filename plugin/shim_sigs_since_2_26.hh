// The signatures of the hooked member functions on Nix >= 2.26, checked at compile time:
// each static_cast fails to compile if the version's EvalState declares no member function of
// exactly the type our function pointer types (shim_2_26.hh / shim_since_2_28.hh) assume.
// Included at the end of those, inside namespace nixperf::shim, after StaticEnvRef.
#pragma once

// The hooked member functions have exactly the signatures our function pointer types assume
// (the mangled NIXPERF_*_SYMBOL names were read from the compiler's output for these
// declarations; scripts/check-plugin-compiles.sh compares them on every version).
namespace detail {
using nix::NixStringContext;
using nix::SourcePath;
using nix::StaticEnv;
using nix::StorePathSet;
[[maybe_unused]] inline constexpr auto sig_call =
    static_cast<void (EvalState::*)(Value &, std::span<Value *>, Value &, nix::PosIdx)>(&EvalState::callFunction);
[[maybe_unused]] inline constexpr auto sig_parse_file =
    static_cast<Expr * (EvalState::*)(const SourcePath &, StaticEnvRef)>(&EvalState::parseExprFromFile);
[[maybe_unused]] inline constexpr auto sig_parse_string =
    static_cast<Expr * (EvalState::*)(std::string, const SourcePath &, StaticEnvRef)>(&EvalState::parseExprFromString);
[[maybe_unused]] inline constexpr auto sig_eval_file =
    static_cast<void (EvalState::*)(const SourcePath &, Value &, bool)>(&EvalState::evalFile);
[[maybe_unused]] inline constexpr auto sig_realise = static_cast<nix::StringMap (EvalState::*)(
    const NixStringContext &, StorePathSet *, bool)>(&EvalState::realiseContext);
} // namespace detail
