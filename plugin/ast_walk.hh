// One pass over a freshly parsed AST (explicit stack: generated files nest deeply). For every
// node it reports the enclosing `with` scope, and for children in a thunk position (attribute
// values, list elements, call arguments, let bindings, formal defaults) it says so: those are
// the nodes Expr::maybeThunk turns into thunks.
#pragma once
#include "shim.hh"

#include <vector>

namespace nixperf {

struct WalkContext
{
    uint32_t with_id = UINT32_MAX; // innermost enclosing `with` (its finding id), if any
    uint32_t with_depth = 0;
};

// visit(node, ctx, in_thunk_position) -> the context for the node's children (a `with` node
// returns a new one for its body).
template<typename Visit>
void walk_ast(nix::Expr * root, Visit && visit)
{
    struct Item { nix::Expr * e; WalkContext ctx; bool thunk; };
    std::vector<Item> todo{{root, {}, false}};
    while (!todo.empty()) {
        Item it = todo.back();
        todo.pop_back();
        nix::Expr * e = it.e;
        WalkContext inner = visit(e, it.ctx, it.thunk);
        auto push = [&](nix::Expr * c, bool thunk = false) { if (c) todo.push_back({c, it.ctx, thunk}); };
        auto push_path = [&](const auto & p) { for (auto & n : p) push(shim::attr_name_expr(n)); };
        auto attrs_children = [&](nix::ExprAttrs * a) {
            for (auto & [_, def] : shim::attr_defs(*a)) push(def.e, shim::attr_def_thunked(def));
            for (auto & d : shim::dynamic_attr_defs(*a)) { push(d.nameExpr); push(d.valueExpr, true); }
            shim::for_each_inherit_from(*a, [&](nix::Expr * from) { push(from, true); });
        };
        if (auto * x = dynamic_cast<nix::ExprSelect *>(e)) { push(x->e); push(x->def); push_path(shim::select_path(*x)); }
        else if (auto * x = dynamic_cast<nix::ExprOpHasAttr *>(e)) { push(x->e); push_path(shim::has_attr_path(*x)); }
        else if (auto * x = dynamic_cast<nix::ExprAttrs *>(e)) attrs_children(x);
        else if (auto * x = dynamic_cast<nix::ExprList *>(e)) { for (auto * el : x->elems) push(el, true); }
        else if (auto * x = dynamic_cast<nix::ExprLambda *>(e)) {
            shim::for_each_formal_default(*x, [&](nix::Expr * d) { push(d, true); });
            push(x->body);
        }
        else if (auto * x = dynamic_cast<nix::ExprCall *>(e)) { push(x->fun); for (auto * a : shim::call_args(*x)) push(a, true); }
        else if (auto * x = dynamic_cast<nix::ExprLet *>(e)) { attrs_children(x->attrs); push(x->body); }
        else if (auto * x = dynamic_cast<nix::ExprWith *>(e)) { push(x->attrs); if (x->body) todo.push_back({x->body, inner, false}); }
        else if (auto * x = dynamic_cast<nix::ExprIf *>(e)) { push(x->cond); push(x->then); push(x->else_); }
        else if (auto * x = dynamic_cast<nix::ExprAssert *>(e)) { push(x->cond); push(x->body); }
        else if (auto * x = dynamic_cast<nix::ExprOpNot *>(e)) push(x->e);
        else if (auto * x = dynamic_cast<nix::ExprConcatStrings *>(e)) shim::for_each_string_part(*x, [&](nix::Expr * s) { push(s); });
#define NIXPERF_BINOP(T) else if (auto * x = dynamic_cast<T *>(e)) { push(x->e1); push(x->e2); }
        NIXPERF_BINOP(nix::ExprOpEq) NIXPERF_BINOP(nix::ExprOpNEq) NIXPERF_BINOP(nix::ExprOpAnd)
        NIXPERF_BINOP(nix::ExprOpOr) NIXPERF_BINOP(nix::ExprOpImpl) NIXPERF_BINOP(nix::ExprOpUpdate)
        NIXPERF_BINOP(nix::ExprOpConcatLists)
#undef NIXPERF_BINOP
    }
}

} // namespace nixperf
