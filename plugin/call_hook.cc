// Every function call: the GOT slot of EvalState::callFunction points here. We name the callee
// (lambda definition / primop), tell the recorder, and call the original. A call of a curried
// lambda with several arguments (`f a b`) is applied one argument at a time, exactly as the
// original's own loop does, so that every lambda application is its own exact call (Nix's
// nrFunctionCalls counts the same way).
#include "hooks.hh"
#include "call_fast_path.hh"
#include "got_patch.hh"

#include <tuple>

namespace nixperf {

namespace {

shim::CallFunctionFn orig_call_function = nullptr;

// What was called (the codes are the bridge's, src/recorder/bridge.rs).
using CallKind = rec::CallKind;

void describe(nix::EvalState * state, uint32_t node, CallKind kind, const nix::Value & fun, const void * prim) noexcept
{
    try {
        // Owning or borrowed strings, depending on the Nix version (shim.hh).
        decltype(shim::symbol_str(state, shim::lambda_of(fun)->name)) name;
        decltype(shim::pos_file(state, shim::lambda_of(fun)->pos)) def_file;
        uint32_t line = 0, col = 0;
        switch (kind) {
        case CallKind::Lambda: {
            auto * l = shim::lambda_of(fun);
            name = shim::symbol_str(state, l->name);
            def_file = shim::pos_file(state, l->pos);
            std::tie(line, col) = shim::pos_line_col(state, l->pos);
            break;
        }
        case CallKind::Primop: name = shim::primop_name(*static_cast<const nix::PrimOp *>(prim)); break;
        case CallKind::Functor: name = "__functor"; break;
        case CallKind::Other:
        default: name = "<not a function>"; break;
        }
        rec::call_describe(node, kind, rs(name), rs(def_file), line, col);
    } catch (...) {
    }
}

void describe_site(nix::EvalState * state, uintptr_t key, shim::PosRef site) noexcept
{
    try {
        rec::site_file(key, rs(shim::pos_file(state, site)));
    } catch (...) {
    }
}

// A site keyed by its position index, seen for the first time: its file key and line/column.
void resolve_site(nix::EvalState * state, uint64_t index, shim::PosRef site) noexcept
{
    try {
        auto key = reinterpret_cast<uintptr_t>(shim::pos_file_key(state, site));
        auto [line, col] = shim::pos_line_col(state, site);
        if (rec::site_position(index, key, (uint64_t(line) << 32) | col) == rec::Describe::NewSiteFile)
            describe_site(state, key, site);
    } catch (...) {
    }
}

// One exact call: count it (and describe what is new), push it if timed, run the original.
[[gnu::always_inline]] inline void record_call(nix::EvalState * state, CallKind kind, const void * key, const void * prim,
    nix::Value & fun, shim::Args args, nix::Value & vRes, shim::PosRef pos)
{
    auto site = shim::site_key(state, pos);
    uint8_t flags = 0;
    uint32_t node = fast::count(reinterpret_cast<uintptr_t>(key), site.file, site.pos, flags);
    if (__builtin_expect(flags != 0, 0)) {
        // Without file hooks (not ported to every Nix version) the first call configures.
        if (!NIXPERF_HAVE_FILE_HOOKS) ensure_configured();
        if (flags & fast::NEW_NODE) describe(state, node, kind, fun, prim);
        if (flags & fast::NEW_SITE_FILE) describe_site(state, site.file, pos);
        if (flags & fast::NEW_SITE_POS) resolve_site(state, site.pos, pos);
    }
    if (!fast::push(node, site.file, site.pos)) {
        check_interrupt();
        shim::call_orig(orig_call_function, state, fun, args, vRes, pos);
        return;
    }
    try {
        check_interrupt();
        shim::call_orig(orig_call_function, state, fun, args, vRes, pos);
    } catch (...) {
        note_exception();
        fast::exit();
        throw;
    }
    fast::exit();
}

void call_function_hook(nix::EvalState * state, nix::Value & fun, shim::Args args, nix::Value & vRes, shim::PosRef pos)
{
    if (stack_nearly_full()) {
        ++unrecorded_calls;
        shim::call_orig(orig_call_function, state, fun, args, vRes, pos);
        return;
    }
    // The original forces `fun` first thing; doing it here lets us name the callee.
    if (shim::needs_force(fun)) state->forceValue(fun, pos);

    if (shim::is_lambda(fun)) {
        if (args.size() == 1) return record_call(state, CallKind::Lambda, shim::lambda_of(fun), nullptr, fun, args, vRes, pos);
        // Curried: apply the arguments one at a time while the result is a lambda (a lambda's
        // result is in weak head normal form), here rather than through this hook again: its
        // prologue is a good part of the cost per call.
        nix::Value partial[2];
        nix::Value * f = &fun;
        for (unsigned i = 0;; i ^= 1) {
            record_call(state, CallKind::Lambda, shim::lambda_of(*f), nullptr, *f, args.head(), partial[i], pos);
            f = &partial[i];
            args = args.tail();
            if (!shim::is_lambda(*f)) return call_function_hook(state, *f, args, vRes, pos);
            if (args.size() == 1) return record_call(state, CallKind::Lambda, shim::lambda_of(*f), nullptr, *f, args, vRes, pos);
        }
    }

    CallKind kind;
    const void * key;
    const void * prim = nullptr;
    if (shim::is_primop(fun) || shim::is_primop_app(fun)) {
        const nix::Value * v = &fun;
        while (shim::is_primop_app(*v)) v = shim::primop_app_left(*v);
        kind = CallKind::Primop;
        key = prim = shim::is_primop(*v) ? shim::primop_of(*v) : nullptr;
        if (!prim) {
            kind = CallKind::Other;
            key = reinterpret_cast<const void *>(uintptr_t(2));
        }
    } else if (fun.type() == nix::nAttrs) {
        kind = CallKind::Functor;
        key = reinterpret_cast<const void *>(uintptr_t(1));
    } else {
        kind = CallKind::Other;
        key = reinterpret_cast<const void *>(uintptr_t(2));
    }
    record_call(state, kind, key, prim, fun, args, vRes, pos);
}

} // namespace

std::string install_call_hook()
{
    fast::init();
    if (!fast::hot) return "the recorder is unavailable";
    orig_call_function = reinterpret_cast<shim::CallFunctionFn>(real_symbol(NIXPERF_CALLFUNCTION_SYMBOL));
    if (!orig_call_function) return "EvalState::callFunction not found";
    if (!patch_plt_slots(NIXPERF_CALLFUNCTION_SYMBOL, reinterpret_cast<void *>(&shim::call_entry<&call_function_hook>)))
        return "no PLT slot calls EvalState::callFunction";
    return {};
}

} // namespace nixperf
