// Static findings from each parsed AST — `with` scopes (position, nesting depth, the expression
// they open), `rec` sets (position, attribute count), large `let`s — and the hooks that make
// them dynamic: a variable looked up through `with` scopes counts the lookup at the `with` that
// actually resolved it, `rec` sets count their evaluations. Only those nodes are instrumented.
#include "findings.hh"
#include "thunk_hook.hh"

#include <sstream>
#include <vector>

namespace nixperf {

namespace {

// The codes are the bridge's (src/recorder/bridge.rs).
using FindingKind = rec::FindingKind;

// Per `with` finding id: the enclosing `with` (or NONE) and the lookups it resolved.
constexpr uint32_t NONE = UINT32_MAX;
struct WithScopes
{
    std::vector<uint32_t> parent;
    std::vector<uint64_t> lookups;
};
WithScopes & scopes()
{
    static auto * s = new WithScopes;
    return *s;
}

// After a successful lookup, find which `with` resolved it, as Nix's lookupVar does: from the
// innermost `with` environment outwards (shim::WithCursor). The lookup just succeeded, so every
// environment up to the resolving one holds its evaluated attribute set.
void count_lookup(const nix::ExprVar & var, nix::Env & env, uint32_t innermost)
{
    shim::WithCursor c(var, env);
    auto & s = scopes();
    for (uint32_t id = innermost; id != NONE && id < s.parent.size(); id = s.parent[id]) {
        if (!c.evaluated()) return;
        if (c.has(var.name)) {
            s.lookups[id]++;
            return;
        }
        if (!c.next()) return;
    }
}

// A variable looked up through `with` scopes: both ways Nix evaluates a variable do the lookup.
struct WithVar final : nix::ExprVar
{
    explicit WithVar(const nix::ExprVar & v) : nix::ExprVar(v) { }
    void eval(nix::EvalState & state, nix::Env & env, nix::Value & v) override
    {
        nix::ExprVar::eval(state, env, v);
        count_lookup(*this, env, vt::tag_of(this));
    }
    nix::Value * maybeThunk(nix::EvalState & state, nix::Env & env) override
    {
        nix::Value * r = nix::ExprVar::maybeThunk(state, env);
        // A deferred lookup (the `with` set not evaluated yet; always in 2.26, which never looks
        // up `with` variables eagerly) comes back as a thunk of this very node and is counted
        // when it is forced.
        if (!shim::is_thunk_of(*r, this)) count_lookup(*this, env, vt::tag_of(this));
        return r;
    }
};

std::string brief(nix::EvalState * state, const nix::Expr & e)
{
    std::ostringstream os;
    shim::show_expr(state, e, os);
    std::string s = os.str();
    if (s.size() > 80) s = s.substr(0, 77) + "...";
    return s;
}

} // namespace

void report_with_lookups() noexcept
{
    auto & s = scopes();
    for (uint32_t id = 0; id < s.lookups.size(); id++)
        if (s.lookups[id]) rec::finding_count(id, s.lookups[id]);
}

WalkContext visit_findings(
    nix::EvalState * state, nix::Expr * e, const WalkContext & ctx, uint32_t file, uint32_t tag, uint32_t let_threshold)
{
    if (auto * w = dynamic_cast<nix::ExprWith *>(e)) {
        uint32_t depth = ctx.with_depth + 1;
        auto [line, col] = shim::with_pos(state, *w);
        uint32_t id = rec::finding(file, FindingKind::With, line, col, depth, 0,
            rs(w->attrs ? brief(state, *w->attrs) : std::string()));
        auto & s = scopes();
        if (id != NONE) {
            if (s.parent.size() <= id) {
                s.parent.resize(id + 1, NONE);
                s.lookups.resize(id + 1, 0);
            }
            s.parent[id] = ctx.with_id;
        }
        return {id, depth};
    }
    if (auto * a = dynamic_cast<nix::ExprAttrs *>(e); a && a->recursive) {
        uint32_t size = shim::attr_defs(*a).size() + shim::dynamic_attr_defs(*a).size();
        auto [line, col] = shim::rec_pos(state, *a);
        uint32_t id = rec::finding(file, FindingKind::Rec, line, col, ctx.with_depth, size, rs(""));
        hook_rec(a, tag, id);
    } else if (auto * l = dynamic_cast<nix::ExprLet *>(e)) {
        uint32_t size = shim::attr_defs(*l->attrs).size();
        if (size > let_threshold) {
            auto [line, col] = shim::let_pos(state, *l);
            rec::finding(file, FindingKind::Let, line, col, ctx.with_depth, size, rs(""));
        }
    } else if (auto * v = dynamic_cast<nix::ExprVar *>(e); v && v->fromWith && ctx.with_id != UINT32_MAX) {
        if (typeid(*v) == typeid(nix::ExprVar))
            vt::install<WithVar, nix::ExprVar>(v, vt::Kind::WithVar, ctx.with_id, ctx.with_id);
    }
    return ctx;
}

} // namespace nixperf
