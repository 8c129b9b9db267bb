// Every function call: the GOT slot of EvalState::callFunction points here. We name the callee
// (lambda definition / primop), tell the recorder, and call the original. A call of a curried
// lambda with several arguments (`f a b`) is applied one argument at a time, exactly as the
// original's own loop does, so that every lambda application is its own exact call (Nix's
// nrFunctionCalls counts the same way).
#include "hooks.hh"
#include "got_patch.hh"

namespace nixperf {

namespace {

shim::CallFunctionFn orig_call_function = nullptr;

enum CallKind : uint8_t { Lambda = 0, PrimOp = 1, Functor = 2, Other = 3 };

void describe(CallKind kind, const nix::Value & fun, const void * prim) noexcept
{
    try {
        std::string_view name, def_file;
        uint32_t line = 0, col = 0;
        switch (kind) {
        case Lambda: {
            auto * l = shim::lambda_of(fun);
            name = shim::symbol_str(l->name);
            def_file = shim::pos_file(l->pos);
            line = shim::pos_line(l->pos);
            col = shim::pos_col(l->pos);
            break;
        }
        case PrimOp: name = shim::primop_name(*static_cast<const nix::PrimOp *>(prim)); break;
        case Functor: name = "__functor"; break;
        case Other: name = "<not a function>"; break;
        }
        rec::call_describe(kind, rs(name), rs(def_file), line, col);
    } catch (...) {
    }
}

void describe_site(const void * key, shim::PosRef site) noexcept
{
    try {
        rec::site_file(reinterpret_cast<size_t>(key), rs(shim::pos_file(site)));
    } catch (...) {
    }
}

void call_function_hook(nix::EvalState * state, nix::Value & fun, size_t nrArgs, nix::Value ** args,
    nix::Value & vRes, shim::PosRef pos)
{
    // The original forces `fun` first thing; doing it here lets us name the callee.
    if (shim::needs_force(fun)) state->forceValue(fun, pos);

    CallKind kind;
    const void * key;
    const void * prim = nullptr;
    if (shim::is_lambda(fun)) {
        if (nrArgs > 1) {
            nix::Value partial;
            call_function_hook(state, fun, 1, args, partial, pos);
            call_function_hook(state, partial, nrArgs - 1, args + 1, vRes, pos);
            return;
        }
        kind = Lambda;
        key = shim::lambda_of(fun);
    } else if (shim::is_primop(fun) || shim::is_primop_app(fun)) {
        const nix::Value * v = &fun;
        while (shim::is_primop_app(*v)) v = shim::primop_app_left(*v);
        kind = PrimOp;
        key = prim = shim::is_primop(*v) ? shim::primop_of(*v) : nullptr;
        if (!prim) {
            kind = Other;
            key = reinterpret_cast<const void *>(uintptr_t(2));
        }
    } else if (fun.type() == nix::nAttrs) {
        kind = Functor;
        key = reinterpret_cast<const void *>(uintptr_t(1));
    } else {
        kind = Other;
        key = reinterpret_cast<const void *>(uintptr_t(2));
    }

    auto site_key = shim::pos_file_key(pos);
    uint8_t flags = nixperf_call_enter(reinterpret_cast<size_t>(key), reinterpret_cast<size_t>(site_key),
        shim::pos_line(pos), shim::pos_col(pos));
    if (__builtin_expect(flags != 0, 0)) {
        if (flags & 1) describe(kind, fun, prim);
        if (flags & 2) describe_site(site_key, pos);
    }
    try {
        check_interrupt();
        orig_call_function(state, fun, nrArgs, args, vRes, pos);
    } catch (...) {
        note_exception();
        nixperf_call_exit();
        throw;
    }
    nixperf_call_exit();
}

} // namespace

std::string install_call_hook()
{
    orig_call_function = reinterpret_cast<shim::CallFunctionFn>(real_symbol(NIXPERF_CALLFUNCTION_SYMBOL));
    if (!orig_call_function) return "EvalState::callFunction not found";
    if (!patch_plt_slots(NIXPERF_CALLFUNCTION_SYMBOL, reinterpret_cast<void *>(&call_function_hook)))
        return "no PLT slot calls EvalState::callFunction";
    return {};
}

} // namespace nixperf
