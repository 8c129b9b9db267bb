// The per-call path of the recorder, inlined into the call hook: every Nix function call enters
// and leaves the call tree once, so this is the profiler's overhead. It works on the tree that
// the Rust recorder owns and lays out (src/recorder/call_tree.rs; the structs come from the cxx
// bridge), and calls into Rust only for what is rare: a new call path, a site beyond a node's four
// slots, a full stack, a change of attribution owner.
#pragma once
#include <cstdint>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "nixperf/src/recorder/bridge.rs.h"

namespace nixperf::fast {

// The codes and sentinels are declared once, in the bridge (src/recorder/bridge.rs).
// TreeNode::owner of a node that changes no attribution owner.
inline constexpr uint32_t NO_OWNER = uint32_t(rec::Owner::Nobody);
// Flags of `count` (rec::Describe): describe the callee (a new node) / name the site's file (a
// new site file) / resolve a site keyed by position index (shim::SITE_BY_INDEX) seen for the
// first time.
inline constexpr uint8_t NEW_NODE = uint8_t(rec::Describe::NewNode), NEW_SITE_FILE = uint8_t(rec::Describe::NewSiteFile),
                         NEW_SITE_POS = uint8_t(rec::Describe::NewSitePos);
// The bit of rec::tree_child's answer that says the node was just created: the only one above a
// node id, so `count` tests it as `r >> 32` (what compiles to the fewest instructions).
inline constexpr uint64_t FRESH = uint64_t(rec::TreeChild::Fresh);
static_assert(FRESH == uint64_t(1) << 32, "count tests rec::TreeChild::Fresh as r >> 32");

// Set once at load (`init`); the recorder is never freed, so they stay valid to the end.
inline rec::HotState * hot = nullptr;
inline const uint32_t * current_owner = nullptr;

inline void init() noexcept
{
    try {
        hot = reinterpret_cast<rec::HotState *>(rec::hot_state());
        current_owner = reinterpret_cast<const uint32_t *>(rec::owner_cell());
    } catch (...) {
        hot = nullptr;
    }
}

// The recorder's clock (src/recorder/clock.rs): the TSC on x86_64.
inline uint64_t ticks() noexcept
{
#if defined(__x86_64__)
    return __rdtsc();
#else
    return rec::now();
#endif
}

inline rec::TreeNode * nodes() noexcept { return reinterpret_cast<rec::TreeNode *>(hot->nodes); }
inline rec::Activation * stack() noexcept { return reinterpret_cast<rec::Activation *>(hot->stack); }

// A call of `key` (callee address) from a site (shim::SiteKey), under the innermost call: finds
// its node (NEW_NODE: just created, describe it) and counts the call and its site
// (NEW_SITE_FILE: name the site's file; NEW_SITE_POS: resolve the site's position). Returns the node id; `push` follows for a timed
// node, after the description (which decides whether it is timed and who owns it).
[[gnu::always_inline]] inline uint32_t count(uintptr_t key, uintptr_t site_file, uint64_t site_pos, uint8_t & flags) noexcept
{
    rec::HotState & h = *hot;
    rec::TreeNode & p = nodes()[h.top];
    uint32_t id;
    // Unrolled: most parents have one hot child, found in the first slot.
    if (p.kid_keys[0] == key) id = p.kid_nodes[0];
    else if (p.kid_keys[1] == key) id = p.kid_nodes[1];
    else if (p.kid_keys[2] == key) id = p.kid_nodes[2];
    else if (p.kid_keys[3] == key) id = p.kid_nodes[3];
    else {
        uint64_t r = rec::tree_child(key);
        id = uint32_t(r);
        if (r >> 32) flags |= NEW_NODE; // FRESH
    }
    rec::TreeNode & n = nodes()[id];
    n.count++;
    // An empty slot holds (0, 0) with count 0: a match there claims it, which is right too.
    if (n.site_pos[0] == site_pos && n.site_files[0] == site_file) n.site_counts[0]++;
    else if (n.site_pos[1] == site_pos && n.site_files[1] == site_file) n.site_counts[1]++;
    else if (n.site_pos[2] == site_pos && n.site_files[2] == site_file) n.site_counts[2]++;
    else if (n.site_pos[3] == site_pos && n.site_files[3] == site_file) n.site_counts[3]++;
    else flags |= uint8_t(rec::tree_site(id, site_file, site_pos));
    return id;
}

// Makes node `id` the innermost call: reads the clock (if the node is still clocked) and
// changes the attribution owner if the callee belongs to another file. Returns false if nothing was pushed (then no `exit` follows):
// an untimed node (a tiny primop, counted as a leaf: what it forces runs under its caller), or
// a recording that has ended.
[[gnu::always_inline]] inline bool push(uint32_t id, uintptr_t site_file, uint64_t site_pos) noexcept
{
    rec::HotState & h = *hot;
    rec::TreeNode & n = nodes()[id];
    if (!n.timed) return false;
    if (__builtin_expect(h.depth >= h.capacity, 0)) {
        rec::tree_grow_stack();
        if (h.depth >= h.capacity) return false;
    }
    rec::Activation & a = stack()[h.depth++];
    a.site_file = site_file;
    a.site_pos = site_pos;
    a.pushed_owner = false;
    a.clocked = n.clocked;
    a.child_ticks = 0;
    a.caller = h.top;
    a.start = n.clocked ? ticks() : 0;
    n.active++;
    h.top = id;
    if (n.owner != NO_OWNER && n.owner != *current_owner) a.pushed_owner = rec::owner_enter(n.owner, a.start);
    return true;
}

// The end of the innermost call that `push` pushed (normal or by an exception).
[[gnu::always_inline]] inline void exit() noexcept
{
    rec::HotState & h = *hot;
    if (__builtin_expect(h.depth == 0, 0)) return;
    rec::Activation & a = stack()[--h.depth];
    rec::TreeNode & n = nodes()[h.top];
    uint32_t active = --n.active;
    uint64_t t = 0, spent = a.child_ticks;
    if (a.clocked) {
        t = ticks();
        spent = t - a.start;
        n.self_ticks += spent > a.child_ticks ? spent - a.child_ticks : 0;
        // A recursive node's nested activations lie inside its outermost one.
        if (active == 0) n.ticks += spent;
        // A node whose first calls are tiny stops reading the clock: two reads cost 40-80 ns
        // on the VMs we measured, more than such a call, and would inflate its callers' time.
        // (Not decided inside a recursion, whose outer calls are still running.)
        if (__builtin_expect(++n.clocked_calls == h.probe_calls, 0) && active == 0 && n.ticks < h.tiny_ticks) n.clocked = false;
    }
    // The caller's callee time: this call's, or (not clocked) its own callees' that were.
    if (h.depth) stack()[h.depth - 1].child_ticks += spent;
    h.top = a.caller;
    if (a.pushed_owner) rec::owner_leave(t);
}

} // namespace nixperf::fast
