// What happens to every freshly parsed AST: one walk installs the attribution hooks (non-library
// files) and registers the findings; the root node is hooked last to time the file's evaluation.
// Counts kept in the vtable blocks go to the recorder when the evaluation ends.
#include "file_shape.hh"
#include "findings.hh"
#include "thunk_hook.hh"

#include <mutex>

namespace nixperf {

namespace {
std::mutex mutex; // parses are single-threaded in 2.8 and 2.26; this only guards against surprises
}

void instrument_ast(nix::EvalState * state, nix::Expr * root, uint32_t file) noexcept
{
    if (!root) return;
    try {
        std::lock_guard lock(mutex);
        FileShape shape = file_shape(state, root);
        rec::file_shape(file, shape.kind, shape.functions, shape.reexports, shape.values, shape.module_keys, rs(shape.detail));
        uint32_t tag = vt::attribution_tag(file, rec::file_is_library(file), rec::file_is_helper(file));
        uint32_t let_threshold = let_binding_threshold();
        bool findings = findings_enabled();
        walk_ast(root, [&](nix::Expr * e, const WalkContext & ctx, bool thunk) {
            WalkContext inner = findings ? visit_findings(state, e, ctx, file, tag, let_threshold) : ctx;
            if (thunk) hook_thunk(e, tag);
            return inner;
        });
        hook_root(root, file);
    } catch (...) {
    }
}

void report_counts() noexcept
{
    try {
        // Only tried: after a stack overflow (stack_overflow.cc) a walk may hold it on the dead
        // stack; its counts are then left out rather than waiting forever.
        std::unique_lock lock(mutex, std::try_to_lock);
        if (!lock.owns_lock()) return;
        vt::for_each([](vt::Kind kind, uint32_t tag, uint32_t id, uint64_t count) {
            if (!count) return;
            switch (kind) {
            case vt::Kind::Thunk: rec::file_thunks(tag & ~vt::HELPER, count); break;
            case vt::Kind::Rec: rec::finding_count(id, count); break;
            case vt::Kind::WithVar: // counted per resolving `with`, below
            case vt::Kind::Root: break;
            }
        });
        report_with_lookups();
    } catch (...) {
    }
}

} // namespace nixperf
