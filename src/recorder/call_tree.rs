//! The in-memory call tree: one node per path of callees, with call count, inclusive ticks and
//! the call sites each node was reached from.
//!
//! Every Nix function call enters and leaves once, so the per-call work is done by C++ inlined
//! into the call hook (`plugin/call_fast_path.hh`): scan the parent's cached children, count
//! the call and its site, push an activation, read the clock. It works on the arrays this module
//! owns and lays out (`TreeNode`, `Activation`, `HotState`, shared through the cxx bridge), and
//! calls back here only for what is rare: a new path (`child`), a site beyond a node's four slots
//! (`count_site`), a full stack (`grow_stack`). `exit` here closes the calls still open when
//! recording ends; `enter` exists for the unit tests, composed of the same slow paths.
//!
//! Recursion deeper than `FOLD_DEPTH` is folded while recording: a call of a callee already on
//! the path goes back to that ancestor's node instead of making a new one, so that a recursion
//! 100 000 deep costs a few thousand nodes, not a node per level (and everything after, the
//! profile, the report, the history, stays small). A node can then be active more than once;
//! each activation subtracts its callees' time from its own (`self_ticks`), and only the
//! outermost adds to the inclusive time.

use super::ffi::{Activation, HotState, Owner, TreeChild, TreeNode};
use rustc_hash::FxHashMap;

/// A call site: a file key of Nix's (stable for the process) and `line << 32 | column`; or,
/// from Nix 2.26, `Recorder::SITE_BY_INDEX` and the position's index in Nix's PosTable.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct Site {
    pub file: usize,
    pub pos: u64,
}

/// Call sites counted in a node itself (`TreeNode::site_counts`).
const SITE_SLOTS: usize = 4;
/// `TreeNode::owner` of a node that changes no attribution owner (the bridge's `Owner`).
pub const NO_OWNER: u32 = Owner::Nobody.repr;
pub const UNDESCRIBED: u32 = u32::MAX;
/// `tree_child`'s flag for a node created by this call (the bridge's `TreeChild`).
pub const FRESH: u64 = TreeChild::Fresh.repr;
/// Paths are exact to this many nodes; beyond, recursion goes back to the nearest ancestor of
/// the same callee. (The module system evaluations we profiled are under 100 deep.)
pub use crate::profile::FOLD_DEPTH;

/// A stack slot never used: `caller` no node can be.
const UNUSED: Activation = Activation {
    start: 0,
    child_ticks: 0,
    site_file: 0,
    site_pos: 0,
    clocked: false,
    pushed_owner: false,
    caller: u32::MAX,
};

fn new_node(parent: u32, depth: u32) -> TreeNode {
    TreeNode {
        kid_keys: [0; 4],
        kid_nodes: [0; 4],
        parent,
        owner: NO_OWNER,
        count: 0,
        ticks: 0,
        site_files: [0; SITE_SLOTS],
        site_pos: [0; SITE_SLOTS],
        site_counts: [0; SITE_SLOTS],
        frame: UNDESCRIBED,
        timed: true,
        clocked: true,
        clocked_calls: 0,
        self_ticks: 0,
        active: 0,
        depth,
        pad: [0; 7],
    }
}

// The fast path indexes nodes on every call: keep their size a power of two.
const _: () = assert!(std::mem::size_of::<TreeNode>() == 256);

pub struct CallTree {
    pub nodes: Vec<TreeNode>,
    /// All `capacity` slots are initialised; `hot.depth` of them are in use.
    stack: Vec<Activation>,
    /// What the C++ fast path reads; kept in sync with `nodes` and `stack` by every method
    /// that can reallocate them.
    pub hot: HotState,
    children: FxHashMap<(u32, usize), u32>,
    /// Each node's callee key (for folding recursion: `FOLD_DEPTH`).
    keys: Vec<usize>,
    /// Calls that went back to an ancestor's node (`FOLD_DEPTH`): new paths not made.
    pub folds: u64,
    /// Call counts of sites beyond a node's four slots.
    more_sites: FxHashMap<(u32, Site), u64>,
}

impl Default for CallTree {
    fn default() -> Self {
        let mut nodes = Vec::with_capacity(4096);
        nodes.push(new_node(0, 0));
        let stack = vec![UNUSED; 4096];
        let mut t = CallTree {
            nodes,
            stack,
            hot: HotState {
                nodes: 0,
                stack: 0,
                depth: 0,
                capacity: 0,
                top: 0,
                probe_calls: 0,
                tiny_ticks: 0,
            },
            children: FxHashMap::default(),
            keys: vec![0],
            folds: 0,
            more_sites: FxHashMap::default(),
        };
        t.sync();
        t
    }
}

impl CallTree {
    /// Nodes stop reading the clock when their first `probe_calls` clocked calls took under
    /// `tiny_ticks` in all (0 calls: never).
    pub fn set_clock_probe(&mut self, probe_calls: u64, tiny_ticks: u64) {
        self.hot.probe_calls = probe_calls;
        self.hot.tiny_ticks = tiny_ticks;
    }

    fn sync(&mut self) {
        self.hot.nodes = self.nodes.as_mut_ptr() as usize;
        self.hot.stack = self.stack.as_mut_ptr() as usize;
        self.hot.capacity = self.stack.len() as u32;
    }

    pub fn top(&self) -> u32 {
        self.hot.top
    }

    pub fn depth(&self) -> usize {
        self.hot.depth as usize
    }

    /// The most calls that were active at once.
    pub fn deepest(&self) -> usize {
        self.stack
            .iter()
            .rposition(|a| a.caller != u32::MAX)
            .map_or(0, |i| i + 1)
    }

    /// The innermost active call.
    pub fn innermost(&mut self) -> Option<&mut Activation> {
        let d = self.depth();
        if d == 0 {
            None
        } else {
            self.stack.get_mut(d - 1)
        }
    }

    /// The child of the innermost node for callee `key`: found or created, and cached in the
    /// parent (an empty slot, else the slot chosen by the callee's address bits, so that hot
    /// children settle in different slots). Beyond `FOLD_DEPTH`, the nearest ancestor of the
    /// same callee if there is one. Returns the id, `| FRESH` if created.
    pub fn child(&mut self, key: usize) -> u64 {
        let parent = self.hot.top;
        let Some(p) = self.nodes.get(parent as usize) else {
            return 0;
        };
        let depth = p.depth;
        let next = self.nodes.len() as u32;
        let node = match self.children.get(&(parent, key)) {
            Some(&node) => node,
            None => {
                let node = (depth >= FOLD_DEPTH)
                    .then(|| self.ancestor(parent, key))
                    .flatten()
                    .inspect(|_| self.folds += 1)
                    .unwrap_or(next);
                self.children.insert((parent, key), node);
                node
            }
        };
        let fresh = node == next;
        if fresh {
            self.nodes.push(new_node(parent, depth + 1));
            self.keys.push(key);
            self.sync();
        }
        let p = &mut self.nodes[parent as usize];
        let slot = p
            .kid_keys
            .iter()
            .position(|&k| k == 0)
            .unwrap_or((key >> 4) % p.kid_keys.len());
        p.kid_keys[slot] = key;
        p.kid_nodes[slot] = node;
        u64::from(node) | if fresh { FRESH } else { 0 }
    }

    /// The nearest node on the path to `node` (itself included) whose callee is `key`.
    fn ancestor(&self, mut node: u32, key: usize) -> Option<u32> {
        while node != 0 {
            if self.keys[node as usize] == key {
                return Some(node);
            }
            node = self.nodes[node as usize].parent;
        }
        None
    }

    /// Counts a call of `node` from `site`, which the fast path did not find in the node's
    /// slots; true if the node had not been called from there before.
    pub fn count_site(&mut self, node: u32, site: Site) -> bool {
        let Some(n) = self.nodes.get_mut(node as usize) else {
            return false;
        };
        for i in 0..SITE_SLOTS {
            if n.site_counts[i] == 0 {
                n.site_files[i] = site.file;
                n.site_pos[i] = site.pos;
                n.site_counts[i] = 1;
                return true;
            }
            if n.site_files[i] == site.file && n.site_pos[i] == site.pos {
                n.site_counts[i] += 1;
                return false;
            }
        }
        let c = self.more_sites.entry((node, site)).or_insert(0);
        *c += 1;
        *c == 1
    }

    /// Enters the scope node `key` under the innermost node at tick `t` (see
    /// `Recorder::scope_enter`): found in the parent's slots or created, pushed, always timed.
    /// A scope counts no call (`count` stays 0); `exit` counts its entries in `clocked_calls`.
    /// Returns the node and whether it was just created.
    pub fn enter_scope(&mut self, key: usize, t: u64) -> (u32, bool) {
        let p = &self.nodes[self.hot.top as usize];
        let (id, fresh) = match p.kid_keys.iter().position(|&k| k == key) {
            Some(slot) => (p.kid_nodes[slot], false),
            None => {
                let r = self.child(key);
                (r as u32, r & FRESH != 0)
            }
        };
        self.push(id, t, Site::default(), true);
        (id, fresh)
    }

    /// Makes `node` the innermost call, as the fast path's `push` does.
    fn push(&mut self, node: u32, t: u64, site: Site, clocked: bool) {
        if self.hot.depth >= self.hot.capacity {
            self.grow_stack();
        }
        let d = self.hot.depth as usize;
        self.stack[d] = Activation {
            start: t,
            child_ticks: 0,
            site_file: site.file,
            site_pos: site.pos,
            clocked,
            pushed_owner: false,
            caller: self.hot.top,
        };
        self.hot.depth += 1;
        self.nodes[node as usize].active += 1;
        self.hot.top = node;
    }

    pub fn grow_stack(&mut self) {
        let len = self.stack.len().max(1024) * 2;
        self.stack.resize(len, UNUSED);
        self.sync();
    }

    /// Leaves the innermost call at tick `t`; returns it, or None if there is no call. The
    /// same as the fast path's exit (without the clock probe: it only closes calls).
    pub fn exit(&mut self, t: u64) -> Option<Activation> {
        let d = self.depth();
        if d == 0 {
            return None;
        }
        self.hot.depth -= 1;
        let a = self.stack[d - 1];
        let n = &mut self.nodes[self.hot.top as usize];
        n.active -= 1;
        let mut spent = a.child_ticks;
        if a.clocked {
            spent = t.wrapping_sub(a.start);
            n.self_ticks += spent.saturating_sub(a.child_ticks);
            if n.active == 0 {
                n.ticks += spent;
            }
            n.clocked_calls += 1;
        }
        if d > 1 {
            self.stack[d - 2].child_ticks += spent;
        }
        self.hot.top = a.caller;
        Some(a)
    }

    /// Every (node, site, count).
    pub fn sites(&self) -> impl Iterator<Item = (u32, Site, u64)> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .flat_map(|(i, n)| {
                (0..SITE_SLOTS)
                    .filter(|&s| n.site_counts[s] > 0)
                    .map(move |s| {
                        let site = Site {
                            file: n.site_files[s],
                            pos: n.site_pos[s],
                        };
                        (i as u32, site, n.site_counts[s])
                    })
            })
            .chain(self.more_sites.iter().map(|(&(n, s), &c)| (n, s, c)))
    }

    /// (inclusive, self) ticks per node. An untimed node is a counted leaf (never pushed, so
    /// it has no children): its time stays in its parent's self time. A node that stopped
    /// reading the clock has its clocked calls' times scaled to all its calls; the estimate of
    /// its calls' own time that was not measured moves out of its caller's self time (where
    /// the clock saw it), and its inclusive time covers its own and its children's.
    pub fn times(&self) -> (Vec<u64>, Vec<u64>) {
        let scaled = |v: u64, n: &TreeNode| {
            if !n.timed || n.clocked_calls == 0 {
                0
            } else if n.clocked_calls < n.count {
                (u128::from(v) * u128::from(n.count) / u128::from(n.clocked_calls)) as u64
            } else {
                v
            }
        };
        let mut incl: Vec<u64> = self.nodes.iter().map(|n| scaled(n.ticks, n)).collect();
        let mut own: Vec<u64> = self.nodes.iter().map(|n| scaled(n.self_ticks, n)).collect();
        // Children come after their parent: sum them bottom-up.
        let mut kids = vec![0u64; self.nodes.len()];
        for i in (1..self.nodes.len()).rev() {
            let n = &self.nodes[i];
            let p = n.parent as usize;
            if n.timed && n.clocked_calls < n.count {
                incl[i] = incl[i].max(own[i] + kids[i]);
                own[p] = own[p].saturating_sub(own[i].saturating_sub(n.self_ticks));
            }
            kids[p] += incl[i];
        }
        (incl, own)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_node_off_the_clock_is_scaled_to_all_its_calls_and_covers_its_children() {
        let mut t = CallTree::default();
        let (n, _, _) = enter(&mut t, 1, site(1), 0);
        t.exit(10);
        enter(&mut t, 1, site(1), 20);
        t.exit(30); // 2 clocked calls, 20 ticks
        t.nodes[n as usize].clocked = false;
        for i in 0..2 {
            enter(&mut t, 1, site(1), 0); // unclocked calls: counted, pushed, no time
            if i == 1 {
                let (k, _, _) = enter(&mut t, 2, site(1), 100);
                t.exit(400); // a child that took long
                assert_eq!(t.nodes[k as usize].clocked_calls, 1);
            }
            t.exit(0);
        }
        let (incl, own) = t.times();
        assert_eq!(t.nodes[n as usize].count, 4);
        // 20 ticks of its own over 2 clocked calls, scaled to 4 calls = 40; and the child
        // took 300 inside one of them.
        assert_eq!(own[n as usize], 40);
        assert_eq!(incl[n as usize], 340);
    }

    use super::*;

    /// What the C++ fast path does on a call (`count`, then `push` if timed), built from the
    /// slow paths (which handle every case the fast path hands them, so the result is the same).
    fn enter(t: &mut CallTree, key: usize, site: Site, tick: u64) -> (u32, bool, bool) {
        let r = t.child(key);
        let node = r as u32;
        let new_site = t.count_site(node, site);
        t.nodes[node as usize].count += 1;
        if t.nodes[node as usize].timed {
            let clocked = t.nodes[node as usize].clocked;
            t.push(node, tick, site, clocked);
        }
        (node, r & FRESH != 0, new_site)
    }

    fn site(p: u64) -> Site {
        Site { file: 1, pos: p }
    }

    #[test]
    fn recursion_builds_a_path_per_depth_and_counts_calls() {
        let mut t = CallTree::default();
        // f calls f; then again.
        let mut tick = 0;
        for _ in 0..2 {
            enter(&mut t, 1, site(1), tick);
            enter(&mut t, 1, site(2), tick + 1);
            t.exit(tick + 3);
            t.exit(tick + 10);
            tick += 20;
        }
        assert_eq!(t.nodes.len(), 3);
        assert_eq!(t.nodes[1].count, 2);
        assert_eq!(t.nodes[2].count, 2);
        assert_eq!(t.nodes[1].ticks, 20);
        assert_eq!(t.times().1[1], 16);
        assert_eq!(t.top(), 0);
    }

    #[test]
    fn cache_miss_finds_existing_child() {
        let mut t = CallTree::default();
        for k in 1..=6 {
            enter(&mut t, k << 4, site(1), 0);
            t.exit(1);
        }
        assert_eq!(enter(&mut t, 1 << 4, site(1), 4), (1, false, false));
        assert!(t.exit(5).is_some());
        assert!(t.exit(6).is_none());
        assert_eq!(t.nodes.len(), 7);
    }

    #[test]
    fn sites_overflow_into_the_map_and_are_all_counted() {
        let mut t = CallTree::default();
        let mut fresh = Vec::new();
        for p in [1, 2, 3, 3, 1, 4, 5, 6, 5] {
            fresh.push(enter(&mut t, 7, site(p), 0).2);
            t.exit(1);
        }
        assert_eq!(
            fresh,
            [true, true, true, false, false, true, true, true, false]
        );
        let mut all: Vec<(u64, u64)> = t.sites().map(|(_, s, c)| (s.pos, c)).collect();
        all.sort();
        assert_eq!(all, vec![(1, 2), (2, 1), (3, 2), (4, 1), (5, 2), (6, 1)]);
    }

    #[test]
    fn the_stack_grows_and_the_hot_state_follows() {
        let mut t = CallTree::default();
        let cap = t.hot.capacity as usize;
        for i in 0..cap + 10 {
            enter(&mut t, 16, site(1), i as u64);
        }
        assert!(t.hot.capacity as usize > cap);
        assert_eq!(t.hot.stack, t.stack.as_ptr() as usize);
        assert_eq!(t.hot.nodes, t.nodes.as_ptr() as usize);
        assert_eq!(t.depth(), cap + 10);
        while t.exit(1 << 20).is_some() {}
        // Paths to FOLD_DEPTH, then the recursion stays in the deepest node.
        assert_eq!(t.nodes.len(), FOLD_DEPTH as usize + 1);
        assert_eq!(t.top(), 0);
    }

    #[test]
    fn deep_recursion_folds_into_an_ancestor_and_keeps_exact_times() {
        // a → b → c → a → b → c … 10 000 levels deep (a cycle of three, like lib.foldr's
        // fold' → op → op's second argument), each level 1 tick of its own before and after.
        let mut t = CallTree::default();
        let levels = 10_000;
        let mut tick = 0;
        for i in 0..levels {
            tick += 1;
            enter(&mut t, [16, 32, 48][i % 3], site(1), tick);
        }
        assert!(
            t.nodes.len() <= FOLD_DEPTH as usize + 4,
            "{}",
            t.nodes.len()
        );
        assert!(t.folds > 0);
        assert_eq!(t.deepest(), levels);
        for _ in 0..levels {
            tick += 1;
            t.exit(tick).unwrap();
        }
        assert_eq!(t.top(), 0);
        let (incl, own) = t.times();
        // Every tick is someone's own, exactly once; the outermost call is all of it.
        assert_eq!(own.iter().sum::<u64>(), tick - 1);
        assert_eq!(incl[1], tick - 1);
        // Inclusive never counts a nested activation twice: no node exceeds the whole.
        assert!(incl.iter().all(|&i| i < tick));
        // Calls are all counted, on the three keys.
        let calls: u64 = t.nodes.iter().map(|n| n.count).sum();
        assert_eq!(calls, levels as u64);
        // The folded node is active no more.
        assert!(t.nodes.iter().all(|n| n.active == 0));
    }

    #[test]
    fn untimed_nodes_are_counted_leaves_and_their_time_stays_in_the_caller() {
        let mut t = CallTree::default();
        enter(&mut t, 1, site(1), 0); // timed parent
        let (n, _, _) = enter(&mut t, 2, site(1), 10); // a primop, described as untimed ...
        assert_eq!(t.top(), n);
        t.exit(10);
        t.nodes[n as usize].timed = false;
        let before = t.nodes.len();
        for _ in 0..3 {
            assert_eq!(enter(&mut t, 2, site(2), 20).0, n); // ... is counted, never pushed
            assert_eq!(t.top(), 1);
            enter(&mut t, 3, site(1), 20); // what it forces runs under the caller
            t.exit(50);
        }
        t.exit(100);
        assert_eq!(t.nodes.len(), before + 1);
        assert_eq!(t.nodes[n as usize].count, 4);
        assert_eq!(t.nodes[before].parent, 1);
        let (incl, own) = t.times();
        assert_eq!((incl[1], incl[n as usize], incl[before]), (100, 0, 90));
        assert_eq!((own[1], own[n as usize], own[before]), (10, 0, 90));
    }
}
