// Module cost attribution through the AST. Forcing a thunk is an inline `expr->eval()` in Nix,
// never a PLT call, so no symbol can be interposed. Instead, right after a file is parsed, the
// nodes that can become thunks get a vtable (vtable_patch.hh) whose `eval` first tells the
// recorder "code of file F runs now", then calls the original. A file's root node gets the same
// treatment to time its evaluation to weak head normal form.
//
// Only non-library files get thunk hooks: library code never changes the owner, so it pays
// nothing; a helper library's thunks change it only when no module owns the time. The file id and a counter ride in the vtable block, and a thunk of the file that
// already owns the time costs one compare, without a call into the recorder.
#include "thunk_hook.hh"

namespace nixperf {

namespace {

// The recorder's current owner (file id); its address is fetched once, at the first parse.
const uint32_t * current_owner = nullptr;

template<class T, bool Root>
struct Attributed final : T
{
    // Copies a node (the vtable probe, vtable_patch.hh), or default-constructs one where the
    // node class cannot be copied.
    template<typename... A>
    explicit Attributed(A &&... a) : T(std::forward<A>(a)...) { }
    void eval(nix::EvalState & state, nix::Env & env, nix::Value & v) override
    {
        if (stack_nearly_full()) return T::eval(state, env, v);
        uint32_t tag = vt::tag_of(this);
        if constexpr (!Root) {
            vt::count_of(this)++;
            // A thunk of the owner itself, of library code, or of a helper while a module owns
            // the time (the helper's code is that module's): nothing changes.
            if (tag == vt::NO_OWNER || tag == *current_owner || ((tag & vt::HELPER) && *current_owner != 0)) {
                T::eval(state, env, v);
                return;
            }
        }
        uint32_t file = tag & ~vt::HELPER;
        if (!rec::scope_enter(file, Root)) {
            T::eval(state, env, v);
            return;
        }
        try {
            T::eval(state, env, v);
        } catch (...) {
            note_exception();
            rec::scope_exit(Root);
            throw;
        }
        rec::scope_exit(Root);
    }
};

template<class T, bool Root>
bool install_if(nix::Expr * e, vt::Kind kind, uint32_t tag)
{
    if (typeid(*e) != typeid(T)) return false;
    vt::install<Attributed<T, Root>, T>(e, kind, tag, 0);
    return true;
}

// Node types that Expr::maybeThunk turns into thunks (ExprVar, literals and paths override
// maybeThunk and never become thunks; lambdas only allocate a closure, not worth a hook).
#define NIXPERF_THUNK_TYPES(X) \
    X(nix::ExprSelect) X(nix::ExprOpHasAttr) X(nix::ExprAttrs) X(nix::ExprList) X(nix::ExprCall) \
    X(nix::ExprLet) X(nix::ExprWith) X(nix::ExprIf) X(nix::ExprAssert) X(nix::ExprOpNot) \
    X(nix::ExprOpEq) X(nix::ExprOpNEq) X(nix::ExprOpAnd) X(nix::ExprOpOr) X(nix::ExprOpImpl) \
    X(nix::ExprOpUpdate) X(nix::ExprOpConcatLists) X(nix::ExprConcatStrings) X(nix::ExprPos)
#define NIXPERF_OTHER_TYPES(X) \
    X(nix::ExprLambda) X(nix::ExprVar) X(nix::ExprInt) X(nix::ExprFloat) X(nix::ExprString) X(nix::ExprPath)

void init_owner()
{
    if (!current_owner) current_owner = reinterpret_cast<const uint32_t *>(rec::owner_cell());
}

} // namespace

void hook_thunk(nix::Expr * e, uint32_t tag)
{
    if (tag == vt::NO_OWNER) return;
    init_owner();
#define X(T) if (install_if<T, false>(e, vt::Kind::Thunk, tag)) return;
    NIXPERF_THUNK_TYPES(X)
#undef X
}

void hook_root(nix::Expr * e, uint32_t file)
{
    init_owner();
#define X(T) if (install_if<T, true>(e, vt::Kind::Root, file)) return;
    NIXPERF_THUNK_TYPES(X)
    NIXPERF_OTHER_TYPES(X)
#undef X
}

void hook_rec(nix::ExprAttrs * e, uint32_t tag, uint32_t id)
{
    init_owner();
    if (typeid(*e) != typeid(nix::ExprAttrs)) return;
    vt::install<Attributed<nix::ExprAttrs, false>, nix::ExprAttrs>(e, vt::Kind::Rec, tag, id);
}

} // namespace nixperf
