// What a freshly parsed file *is*, read off the shape of its top-level expression once, at parse
// time (nothing per call): a NixOS-style module, a package or overlay, a set of helper functions,
// a single helper function, or plain data. The recorder decides from it whether the file's cost
// stays in its own row (a module) or rolls up into the module that called it (a helper
// library); see src/recorder/roles.rs for the rules and the reasons shown to users.
#include "file_shape.hh"

#include <string>
#include <unordered_map>

namespace nixperf {

namespace {

// What a file's value is (the codes are the bridge's, src/recorder/bridge.rs).
using ShapeKind = rec::ShapeKind;

// Names a NixOS module's function takes and a helper library's never needs.
bool module_arg(std::string_view n) { return n == "config" || n == "options" || n == "modulesPath"; }
// Keys of an attribute-set module, with the kind of value a module gives them (a library set
// may well have an `options` namespace imported from a file).
bool module_key(std::string_view n, nix::Expr * v)
{
    if (n == "imports" || n == "disabledModules") return dynamic_cast<nix::ExprList *>(v);
    if (n == "options") return dynamic_cast<nix::ExprAttrs *>(v);
    if (n == "config") return dynamic_cast<nix::ExprAttrs *>(v) || dynamic_cast<nix::ExprCall *>(v);
    return false;
}

struct Reader
{
    nix::EvalState * state;
    // `let` bindings on the way to the value, for `let lib = { … }; in lib` and `inherit f;`.
    std::unordered_map<std::string, nix::Expr *> lets;

    std::string name(const nix::Symbol & s) { return std::string(shim::symbol_str(state, s)); }

    void remember_lets(nix::ExprLet * l)
    {
        for (auto & [sym, def] : shim::attr_defs(*l->attrs)) lets[name(sym)] = def.e;
    }

    // Follows variables bound by an enclosing `let` (a few steps: `let a = b; b = { … }; in a`).
    nix::Expr * resolve(nix::Expr * e)
    {
        for (int i = 0; i < 4 && e; i++) {
            auto * v = dynamic_cast<nix::ExprVar *>(e);
            if (!v) break;
            auto it = lets.find(name(v->name));
            if (it == lets.end() || it->second == e) break;
            e = it->second;
        }
        return e;
    }

    // Strips what does not change what a file's value is: `let`, `with`, `assert`.
    nix::Expr * peel(nix::Expr * e)
    {
        for (int i = 0; i < 64 && e; i++) {
            if (auto * l = dynamic_cast<nix::ExprLet *>(e)) { remember_lets(l); e = l->body; }
            else if (auto * w = dynamic_cast<nix::ExprWith *>(e)) e = w->body;
            else if (auto * a = dynamic_cast<nix::ExprAssert *>(e)) e = a->body;
            else break;
        }
        return e;
    }

    // A value taken from elsewhere: `import ./x.nix …`, `callLibs ./x.nix`, `inherit (lib.x) f`.
    static bool reexport(nix::Expr * v)
    {
        if (dynamic_cast<nix::ExprSelect *>(v)) return true;
        auto * c = dynamic_cast<nix::ExprCall *>(v);
        if (!c) return false;
        for (auto * a : shim::call_args(*c))
            if (dynamic_cast<nix::ExprPath *>(a)) return true;
        return false;
    }

    // Functions, re-exports and other values among a set's attributes (nested sets are
    // namespaces: their members count; `a // b` counts both sides).
    void count(nix::Expr * e, FileShape & out, int depth = 0)
    {
        e = resolve(peel(e));
        if (!e || depth > 3) return;
        if (auto * u = dynamic_cast<nix::ExprOpUpdate *>(e)) {
            count(u->e1, out, depth + 1);
            count(u->e2, out, depth + 1);
            return;
        }
        auto * a = dynamic_cast<nix::ExprAttrs *>(e);
        if (!a) return;
        for (auto & [sym, def] : shim::attr_defs(*a)) {
            nix::Expr * v = resolve(peel(def.e));
            if (depth == 0 && module_key(name(sym), v)) out.module_keys = true;
            if (dynamic_cast<nix::ExprLambda *>(v)) out.functions++;
            else if (dynamic_cast<nix::ExprAttrs *>(v) && depth < 2) count(v, out, depth + 1);
            else if (reexport(v)) out.reexports++;
            else out.values++;
        }
        out.values += shim::dynamic_attr_defs(*a).size();
    }

    std::string pattern(const nix::ExprLambda & l)
    {
        if (!shim::lambda_has_formals(l)) return name(l.arg) + ":";
        std::string s = "{ ";
        int n = 0;
        shim::for_each_formal_name(state, l, [&](std::string_view f) {
            if (n++ < 4) s += std::string(f) + ", ";
            else if (n == 5) s += "…, ";
        });
        if (shim::lambda_ellipsis(l)) s += "..., ";
        if (n) s.resize(s.size() - 2);
        return s + " }:";
    }
};

} // namespace

FileShape file_shape(nix::EvalState * state, nix::Expr * root) noexcept
{
    FileShape out;
    try {
        Reader r{state, {}};
        std::string params; // the patterns of the lambdas in front of the value, as written
        uint32_t lambdas = 0;
        bool formals = false, ellipsis = false, module_args = false;
        nix::Expr * e = r.peel(root);
        while (auto * l = dynamic_cast<nix::ExprLambda *>(e)) {
            if (lambdas == 0) {
                formals = shim::lambda_has_formals(*l);
                ellipsis = shim::lambda_ellipsis(*l);
                shim::for_each_formal_name(state, *l, [&](std::string_view f) { module_args |= module_arg(f); });
            }
            if (lambdas < 3) params += (params.empty() ? "" : " ") + r.pattern(*l);
            lambdas++;
            e = r.peel(l->body);
        }
        e = r.resolve(e);
        bool set_value = dynamic_cast<nix::ExprAttrs *>(e) || dynamic_cast<nix::ExprOpUpdate *>(e);
        r.count(e, out);
        out.detail = params;
        uint32_t library_members = out.functions + out.reexports;
        bool function_set = set_value && library_members > 0 && library_members >= out.values;
        // `{ lib }: { … }`: a function of library arguments returning a set (no `...`, which
        // the module system needs) is a helper library whatever the set holds.
        bool library_args = lambdas == 1 && formals && !ellipsis;
        if (module_args || (lambdas <= 1 && out.module_keys)) out.kind = ShapeKind::NixosModule;
        // `{ pkgs, ... }: { environment.x = …; }`: a module with its config written directly.
        else if (lambdas == 1 && formals && ellipsis && set_value && !function_set) out.kind = ShapeKind::NixosModule;
        // `final: prev: { hello = prev.callPackage ./hello.nix { }; }`: packages, not functions.
        else if (lambdas == 2 && !formals && set_value && out.functions <= out.values + out.reexports) out.kind = ShapeKind::Overlay;
        else if (function_set || (library_args && set_value)) out.kind = ShapeKind::FunctionSet;
        else if (lambdas >= 2 || (lambdas == 1 && !formals)) out.kind = ShapeKind::Function;
        else if (lambdas == 1 && dynamic_cast<nix::ExprCall *>(e)) out.kind = ShapeKind::Package;
        else out.kind = ShapeKind::Data;
    } catch (...) {
        out = FileShape{};
    }
    return out;
}

} // namespace nixperf
