// Module cost attribution through the AST. Forcing a thunk is an inline `expr->eval()` in Nix,
// never a PLT call, so we cannot interpose a symbol. Instead, right after a file is parsed, we
// swap the vtable pointer of the nodes that can become thunks (attribute values, list elements,
// call arguments, let bindings, formal defaults) for a vtable whose `eval` first tells the
// recorder "code of file F runs now", then calls the original `eval`. The file's root node gets
// the same treatment to time its evaluation to weak head normal form.
//
// Only non-library files get thunk hooks: library code never changes the owner, so it pays
// nothing. The file id rides in the vtable copy itself (one slot before the RTTI pointer), so
// the hooked `eval` needs no lookup.
#include "hooks.hh"

#include <map>
#include <mutex>
#include <typeindex>
#include <vector>

namespace nixperf {

namespace {

// Our vtable copies carry two slots in front of the RTTI pointer: [-4] counts the forced
// thunks, [-3] is the file id. Both are read through the object's own vtable pointer.
inline uintptr_t * vtable_of(const void * self) { return *reinterpret_cast<uintptr_t * const *>(self); }

// The recorder's current owner (file id); set once the recorder exists (first parse).
const uint32_t * current_owner = nullptr;

template<class T, bool Root>
struct Hooked final : T
{
    explicit Hooked(const T & t) : T(t) { }
    void eval(nix::EvalState & state, nix::Env & env, nix::Value & v) override
    {
        uintptr_t * vt = vtable_of(this);
        auto file = static_cast<uint32_t>(vt[-3]);
        if constexpr (!Root) {
            vt[-4]++;
            // Same owner: nothing to attribute, no call into the recorder.
            if (file == *current_owner) {
                T::eval(state, env, v);
                return;
            }
        }
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

struct VtableKey
{
    std::type_index type;
    uint32_t file;
    bool root;
    bool operator<(const VtableKey & o) const
    {
        if (type != o.type) return type < o.type;
        if (file != o.file) return file < o.file;
        return root < o.root;
    }
};

std::map<VtableKey, void **> vtables;
std::map<std::pair<std::type_index, bool>, void **> hooked_template_vtables;

// The vtable of Hooked<T, Root>, obtained once per type from a (leaked) copy of a real node.
template<class T, bool Root>
void ** hooked_vtable_of(const nix::Expr * node)
{
    auto key = std::make_pair(std::type_index(typeid(T)), Root);
    auto it = hooked_template_vtables.find(key);
    if (it != hooked_template_vtables.end()) return it->second;
    auto * probe = new Hooked<T, Root>(*static_cast<const T *>(node));
    void ** vt = *reinterpret_cast<void ***>(probe);
    hooked_template_vtables.emplace(key, vt);
    return vt;
}

// A per-file copy: [thunk count][file id][offset-to-top][RTTI][slots...]; the object points at
// slots[0].
void ** file_vtable(void ** hooked, std::type_index type, uint32_t file, bool root)
{
    VtableKey key{type, file, root};
    auto it = vtables.find(key);
    if (it != vtables.end()) return it->second;
    auto * block = new void *[4 + shim::EXPR_VTABLE_SLOTS];
    block[0] = nullptr;
    block[1] = reinterpret_cast<void *>(uintptr_t(file));
    block[2] = hooked[-2];
    block[3] = hooked[-1];
    for (size_t i = 0; i < shim::EXPR_VTABLE_SLOTS; i++) block[4 + i] = hooked[i];
    vtables.emplace(key, block + 4);
    return block + 4;
}

template<class T, bool Root>
bool swap_if(nix::Expr * e, uint32_t file)
{
    if (typeid(*e) != typeid(T)) return false;
    void ** vt = file_vtable(hooked_vtable_of<T, Root>(e), typeid(T), file, Root);
    *reinterpret_cast<void ***>(e) = vt;
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

template<bool Root>
bool hook_node(nix::Expr * e, uint32_t file)
{
#define X(T) if (swap_if<T, Root>(e, file)) return true;
    NIXPERF_THUNK_TYPES(X)
    if constexpr (Root) {
        NIXPERF_OTHER_TYPES(X)
    }
#undef X
    return false;
}

// Visits every node once (explicit stack: generated files can nest deeply) and calls
// `thunk(child)` for each child in a thunk position.
template<typename OnThunk>
void walk(nix::Expr * root, OnThunk && thunk)
{
    std::vector<nix::Expr *> todo{root};
    auto push = [&](nix::Expr * e) { if (e) todo.push_back(e); };
    auto push_thunk = [&](nix::Expr * e) { if (e) { thunk(e); todo.push_back(e); } };
    auto push_path = [&](const nix::AttrPath & p) { for (auto & n : p) push(shim::attr_name_expr(n)); };
    auto attrs_children = [&](nix::ExprAttrs * a) {
        for (auto & [_, def] : a->attrs)
            if (def.inherited) push(def.e); else push_thunk(def.e);
        for (auto & d : a->dynamicAttrs) { push(d.nameExpr); push_thunk(d.valueExpr); }
    };
    while (!todo.empty()) {
        nix::Expr * e = todo.back();
        todo.pop_back();
        if (auto * x = dynamic_cast<nix::ExprSelect *>(e)) { push(x->e); push(x->def); push_path(x->attrPath); }
        else if (auto * x = dynamic_cast<nix::ExprOpHasAttr *>(e)) { push(x->e); push_path(x->attrPath); }
        else if (auto * x = dynamic_cast<nix::ExprAttrs *>(e)) attrs_children(x);
        else if (auto * x = dynamic_cast<nix::ExprList *>(e)) { for (auto * el : x->elems) push_thunk(el); }
        else if (auto * x = dynamic_cast<nix::ExprLambda *>(e)) {
            if (x->hasFormals()) for (auto & f : x->formals->formals) push_thunk(f.def);
            push(x->body);
        }
        else if (auto * x = dynamic_cast<nix::ExprCall *>(e)) { push(x->fun); for (auto * a : x->args) push_thunk(a); }
        else if (auto * x = dynamic_cast<nix::ExprLet *>(e)) { attrs_children(x->attrs); push(x->body); }
        else if (auto * x = dynamic_cast<nix::ExprWith *>(e)) { push(x->attrs); push(x->body); }
        else if (auto * x = dynamic_cast<nix::ExprIf *>(e)) { push(x->cond); push(x->then); push(x->else_); }
        else if (auto * x = dynamic_cast<nix::ExprAssert *>(e)) { push(x->cond); push(x->body); }
        else if (auto * x = dynamic_cast<nix::ExprOpNot *>(e)) push(x->e);
        else if (auto * x = dynamic_cast<nix::ExprConcatStrings *>(e)) { if (x->es) for (auto & [_, s] : *x->es) push(s); }
#define BINOP(T) else if (auto * x = dynamic_cast<T *>(e)) { push(x->e1); push(x->e2); }
        BINOP(nix::ExprOpEq) BINOP(nix::ExprOpNEq) BINOP(nix::ExprOpAnd) BINOP(nix::ExprOpOr)
        BINOP(nix::ExprOpImpl) BINOP(nix::ExprOpUpdate) BINOP(nix::ExprOpConcatLists)
#undef BINOP
    }
}

std::mutex mutex; // parses are single-threaded in 2.8; this only guards against surprises

} // namespace

void report_thunk_counts() noexcept
{
    try {
        std::lock_guard lock(mutex);
        for (auto & [key, vt] : vtables) {
            auto count = reinterpret_cast<uintptr_t *>(vt)[-4];
            if (!key.root && count) rec::file_thunks(key.file, count);
        }
    } catch (...) {
    }
}

void instrument_ast(nix::Expr * root, uint32_t file) noexcept
{
    if (!root) return;
    try {
        std::lock_guard lock(mutex);
        if (!current_owner) current_owner = reinterpret_cast<const uint32_t *>(rec::owner_cell());
        bool library = rec::file_is_library(file);
        if (!library) walk(root, [&](nix::Expr * e) { hook_node<false>(e, file); });
        hook_node<true>(root, file);
    } catch (...) {
    }
}

} // namespace nixperf
