// Files: every parse (import, scopedImport, the top-level file, --expr strings) is timed and its
// AST instrumented; every import through evalFile is counted (a cached import is not re-parsed).
#include "hooks.hh"
#include "got_patch.hh"

namespace nixperf {

namespace {

shim::ParseFileFn orig_parse_file = nullptr;
shim::ParseStringFn orig_parse_string = nullptr;
shim::EvalFileFn orig_eval_file = nullptr;

uint32_t intern(std::string_view path) noexcept
{
    try {
        return rec::file_id(rs(path));
    } catch (...) {
        return 0;
    }
}

nix::Expr * parse_file_hook(nix::EvalState * state, const shim::FilePath & path, shim::StaticEnvRef env)
{
    if (stack_nearly_full()) return orig_parse_file(state, path, env);
    ensure_configured();
    uint64_t start = rec::now();
    nix::Expr * e = orig_parse_file(state, path, env);
    uint32_t file = intern(shim::file_path_str(path));
    rec::file_parsed(file, start);
    instrument_ast(state, e, file);
    return e;
}

nix::Expr * parse_string_hook(
    nix::EvalState * state, std::string s, const shim::FilePath & basePath, shim::StaticEnvRef env)
{
    if (stack_nearly_full()) return orig_parse_string(state, std::move(s), basePath, env);
    ensure_configured();
    uint64_t start = rec::now();
    nix::Expr * e = orig_parse_string(state, std::move(s), basePath, env);
    uint32_t file = intern(shim::STRING_FILE);
    rec::file_parsed(file, start);
    instrument_ast(state, e, file);
    return e;
}

void eval_file_hook(nix::EvalState * state, const shim::FilePath & path, nix::Value & v, bool mustBeTrivial)
{
    if (stack_nearly_full()) return orig_eval_file(state, path, v, mustBeTrivial);
    try {
        rec::file_imported(intern(shim::resolved_expr_path(path)));
    } catch (...) {
        // resolveExprPath throws for paths evalFile itself will reject; let the original say so.
    }
    orig_eval_file(state, path, v, mustBeTrivial);
}

template<typename F>
std::string hook(const char * symbol, F & orig, F replacement, const char * what)
{
    orig = reinterpret_cast<F>(real_symbol(symbol));
    if (!orig) return std::string(what) + " not found";
    if (!patch_plt_slots(symbol, reinterpret_cast<void *>(replacement)))
        return std::string("no PLT slot calls ") + what;
    return {};
}

} // namespace

std::string install_file_hooks()
{
    std::string err;
    err += hook(NIXPERF_PARSE_FILE_SYMBOL, orig_parse_file, &parse_file_hook, "EvalState::parseExprFromFile");
    err += hook(NIXPERF_PARSE_STRING_SYMBOL, orig_parse_string, &parse_string_hook, "EvalState::parseExprFromString");
    err += hook(NIXPERF_EVAL_FILE_SYMBOL, orig_eval_file, &eval_file_hook, "EvalState::evalFile");
    return err;
}

} // namespace nixperf
