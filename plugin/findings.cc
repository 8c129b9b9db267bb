// Static findings from each parsed AST — `with` scopes (position, nesting depth, the expression
// they open), `rec` sets (position, attribute count), large `let`s — and the hooks that make
// them dynamic: variables resolved through a `with` count their lookups (per innermost `with`),
// `rec` sets count their evaluations. Only those nodes are instrumented.
#include "findings.hh"
#include "thunk_hook.hh"

#include <sstream>

namespace nixperf {

namespace {

enum FindingKind : uint8_t { With = 0, Rec = 1, Let = 2 };

// A variable looked up through `with` scopes: both ways Nix evaluates a variable do the lookup.
struct WithVar final : nix::ExprVar
{
    explicit WithVar(const nix::ExprVar & v) : nix::ExprVar(v) { }
    void eval(nix::EvalState & state, nix::Env & env, nix::Value & v) override
    {
        vt::count_of(this)++;
        nix::ExprVar::eval(state, env, v);
    }
    nix::Value * maybeThunk(nix::EvalState & state, nix::Env & env) override
    {
        nix::Value * r = nix::ExprVar::maybeThunk(state, env);
        // A deferred lookup (the `with` set not evaluated yet) comes back as a thunk of this
        // very node and is counted when it is forced.
        if (!(r->isThunk() && r->thunk.expr == this)) vt::count_of(this)++;
        return r;
    }
};

std::string brief(const nix::Expr & e)
{
    std::ostringstream os;
    e.show(os);
    std::string s = os.str();
    if (s.size() > 80) s = s.substr(0, 77) + "...";
    return s;
}

} // namespace

WalkContext visit_findings(nix::Expr * e, const WalkContext & ctx, uint32_t file, bool library, uint32_t let_threshold)
{
    if (auto * w = dynamic_cast<nix::ExprWith *>(e)) {
        uint32_t depth = ctx.with_depth + 1;
        uint32_t id = rec::finding(file, With, shim::pos_line(w->pos), shim::pos_col(w->pos), depth, 0,
            rs(w->attrs ? brief(*w->attrs) : std::string()));
        return {id, depth};
    }
    if (auto * a = dynamic_cast<nix::ExprAttrs *>(e); a && a->recursive) {
        uint32_t size = a->attrs.size() + a->dynamicAttrs.size();
        uint32_t id = rec::finding(file, Rec, shim::pos_line(a->pos), shim::pos_col(a->pos), ctx.with_depth, size, rs(""));
        hook_rec(a, file, library, id);
    } else if (auto * l = dynamic_cast<nix::ExprLet *>(e)) {
        uint32_t size = l->attrs->attrs.size();
        if (size > let_threshold)
            rec::finding(file, Let, shim::pos_line(l->attrs->pos), shim::pos_col(l->attrs->pos), ctx.with_depth, size, rs(""));
    } else if (auto * v = dynamic_cast<nix::ExprVar *>(e); v && v->fromWith && ctx.with_id != UINT32_MAX) {
        if (typeid(*v) == typeid(nix::ExprVar))
            vt::install<WithVar, nix::ExprVar>(v, vt::Kind::WithVar, vt::NO_OWNER, ctx.with_id);
    }
    return ctx;
}

} // namespace nixperf
