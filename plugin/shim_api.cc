// Instantiates the shim functions that no hook calls yet (templates are only compiled when
// used), so that every Nix version the plugin is built or compile-checked against
// (scripts/check-plugin-compiles.sh) proves the whole shim API, not just what the hooks use
// today. Never called at run time.
#include <string>
#include <string_view>

#include "shim.hh"

namespace nixperf::shim_api_check {

using namespace nixperf;

// A lambda's attribute-set pattern and the `inherit`s of an attribute set, as the module
// classification (issue #14) reads them: the names joined, and counts.
[[gnu::used]] std::string lambda_pattern(shim::EvalState * state, const nix::ExprLambda & l)
{
    std::string names;
    if (!shim::lambda_has_formals(l)) return names;
    shim::for_each_formal_name(state, l, [&](std::string_view n) {
        if (!names.empty()) names += ',';
        names += n;
    });
    if (shim::lambda_ellipsis(l)) names += ",...";
    return names;
}

[[gnu::used]] size_t inherited_attrs(const nix::ExprAttrs & a)
{
    size_t n = 0;
    for (auto & [_, d] : shim::attr_defs(a)) n += shim::attr_def_inherited(d) ? 1 : 0;
    return n;
}

} // namespace nixperf::shim_api_check
