//! The in-memory call tree: one node per path of callees, with call count, inclusive ticks and
//! the call sites each node was reached from.
//!
//! This is the plugin's hot path (every Nix function call enters and leaves once), so the
//! layout is chosen for it: the active node is a field (`top`), the stack holds only start
//! ticks, children are found by scanning a few cached (callee, child) pairs, the hash map is
//! consulted only on a miss, and a node is allocated only for a new path.

use rustc_hash::FxHashMap;

/// A call site: the address of the file's interned name in Nix (stable for the process) and
/// `line << 32 | column`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct Site {
    pub file: usize,
    pub pos: u64,
}

/// Per node, the first call sites are counted inline; more go to a shared map.
const INLINE_SITES: usize = 2;
/// Per node, this many children are found by a linear scan before the hash map.
const KID_CACHE: usize = 4;

pub const NO_OWNER: u32 = u32::MAX;
pub const UNDESCRIBED: u32 = u32::MAX;

#[derive(Debug)]
pub struct Node {
    /// Callee addresses of cached children; 0 marks an empty slot (no callee is at address 0).
    kid_keys: [usize; KID_CACHE],
    kid_nodes: [u32; KID_CACHE],
    pub parent: u32,
    /// File that owns the callee's body (non-library lambda), or NO_OWNER.
    pub owner: u32,
    pub count: u64,
    pub ticks: u64,
    pub sites: [(Site, u64); INLINE_SITES],
    /// Index into the frame table, UNDESCRIBED until `describe`.
    pub frame: u32,
    /// Whether calls of this node read the clock (see `untimed_primop`).
    pub timed: bool,
}

impl Node {
    fn new(parent: u32) -> Node {
        Node {
            kid_keys: [0; KID_CACHE],
            kid_nodes: [0; KID_CACHE],
            parent,
            owner: NO_OWNER,
            count: 0,
            ticks: 0,
            sites: [(Site::default(), 0); INLINE_SITES],
            frame: UNDESCRIBED,
            timed: true,
        }
    }
}

/// An activation on the stack: when it started (if timed) and whether it changed the
/// attribution owner.
#[derive(Debug, Clone, Copy)]
pub struct Active {
    pub start: u64,
    /// Where this call came from (IFD events report it).
    pub site: Site,
    pub timed: bool,
    pub pushed_owner: bool,
}

pub struct CallTree {
    pub nodes: Vec<Node>,
    /// The innermost active node (0: none).
    pub top: u32,
    pub stack: Vec<Active>,
    children: FxHashMap<(u32, usize), u32>,
    /// Call counts of sites beyond a node's inline slots.
    more_sites: FxHashMap<(u32, Site), u64>,
}

impl Default for CallTree {
    fn default() -> Self {
        let mut nodes = Vec::with_capacity(4096);
        nodes.push(Node::new(0));
        CallTree {
            nodes,
            top: 0,
            stack: Vec::with_capacity(4096),
            children: FxHashMap::default(),
            more_sites: FxHashMap::default(),
        }
    }
}

/// What `enter` found out.
pub struct Entered {
    pub node: u32,
    /// The node was just created: describe its callee.
    pub fresh: bool,
    /// The site is new for this node.
    pub new_site: bool,
}

impl CallTree {
    /// Enters a call of `key` (the callee: lambda AST node or primop, by address). `clock` is
    /// read only if the node is timed.
    #[inline(always)]
    pub fn enter(&mut self, key: usize, site: Site, clock: impl FnOnce() -> u64) -> Entered {
        let parent = self.top;
        let p = &self.nodes[parent as usize];
        let mut node = 0;
        for i in 0..KID_CACHE {
            if p.kid_keys[i] == key {
                node = p.kid_nodes[i];
                break;
            }
        }
        let fresh = if node == 0 {
            let (n, fresh) = self.lookup(parent, key);
            node = n;
            fresh
        } else {
            false
        };
        let n = &mut self.nodes[node as usize];
        n.count += 1;
        let new_site = count_site(n, node, site, &mut self.more_sites);
        let timed = n.timed;
        self.stack.push(Active {
            start: if timed { clock() } else { 0 },
            site,
            timed,
            pushed_owner: false,
        });
        self.top = node;
        Entered {
            node,
            fresh,
            new_site,
        }
    }

    /// Finds or creates the child, and caches it in the parent (an empty slot, else the slot
    /// chosen by the callee's address bits, so that hot children settle in different slots).
    #[cold]
    #[inline(never)]
    fn lookup(&mut self, parent: u32, key: usize) -> (u32, bool) {
        let next = self.nodes.len() as u32;
        let node = *self.children.entry((parent, key)).or_insert(next);
        let fresh = node == next;
        if fresh {
            self.nodes.push(Node::new(parent));
        }
        let p = &mut self.nodes[parent as usize];
        let slot = p
            .kid_keys
            .iter()
            .position(|&k| k == 0)
            .unwrap_or((key >> 4) % KID_CACHE);
        p.kid_keys[slot] = key;
        p.kid_nodes[slot] = node;
        (node, fresh)
    }

    /// Leaves the innermost call; returns it with the clock reading (if timed), or None if
    /// there is no call (an unbalanced exit is ignored).
    #[inline(always)]
    pub fn exit(&mut self, clock: impl FnOnce() -> u64) -> Option<(Active, Option<u64>)> {
        let a = self.stack.pop()?;
        let n = &mut self.nodes[self.top as usize];
        let t = if a.timed {
            let t = clock();
            n.ticks += t.wrapping_sub(a.start);
            Some(t)
        } else {
            None
        };
        self.top = n.parent;
        Some((a, t))
    }

    /// Every (node, site, count).
    pub fn sites(&self) -> impl Iterator<Item = (u32, Site, u64)> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .flat_map(|(i, n)| {
                n.sites
                    .iter()
                    .filter(|s| s.1 > 0)
                    .map(move |s| (i as u32, s.0, s.1))
            })
            .chain(self.more_sites.iter().map(|(&(n, s), &c)| (n, s, c)))
    }

    /// (inclusive, self) ticks per node. An untimed node's inclusive is what its timed
    /// descendants measured; its own time stays in its parent's self time.
    pub fn times(&self) -> (Vec<u64>, Vec<u64>) {
        let mut incl: Vec<u64> = self
            .nodes
            .iter()
            .map(|n| if n.timed { n.ticks } else { 0 })
            .collect();
        // Children come after their parent: fold untimed nodes bottom-up.
        for i in (1..self.nodes.len()).rev() {
            let p = self.nodes[i].parent as usize;
            if p != 0 && !self.nodes[p].timed {
                incl[p] += incl[i];
            }
        }
        let mut own = incl.clone();
        for i in 1..self.nodes.len() {
            let p = self.nodes[i].parent as usize;
            own[p] = own[p].saturating_sub(incl[i]);
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if !n.timed {
                own[i] = 0;
            }
        }
        (incl, own)
    }
}

/// Counts a call from `site`; true if the node had not been called from there before.
#[inline(always)]
fn count_site(n: &mut Node, node: u32, site: Site, more: &mut FxHashMap<(u32, Site), u64>) -> bool {
    for slot in &mut n.sites {
        if slot.0 == site && slot.1 != 0 {
            slot.1 += 1;
            return false;
        }
        if slot.1 == 0 {
            *slot = (site, 1);
            return true;
        }
    }
    count_more(more, node, site)
}

#[cold]
#[inline(never)]
fn count_more(more: &mut FxHashMap<(u32, Site), u64>, node: u32, site: Site) -> bool {
    let c = more.entry((node, site)).or_insert(0);
    *c += 1;
    *c == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(p: u64) -> Site {
        Site { file: 1, pos: p }
    }

    #[test]
    fn recursion_builds_a_path_per_depth_and_counts_calls() {
        let mut t = CallTree::default();
        // f calls f; then again.
        let mut tick = 0;
        for _ in 0..2 {
            t.enter(1, site(1), || tick);
            t.enter(1, site(2), || tick + 1);
            t.exit(|| tick + 3);
            t.exit(|| tick + 10);
            tick += 20;
        }
        assert_eq!(t.nodes.len(), 3);
        assert_eq!(t.nodes[1].count, 2);
        assert_eq!(t.nodes[2].count, 2);
        assert_eq!(t.nodes[1].ticks, 20);
        assert_eq!(t.times().1[1], 16);
        assert_eq!(t.top, 0);
    }

    #[test]
    fn cache_miss_finds_existing_child() {
        let mut t = CallTree::default();
        for k in 1..=6 {
            t.enter(k << 4, site(1), || 0);
            t.exit(|| 1);
        }
        let e = t.enter(1 << 4, site(1), || 4);
        assert_eq!((e.node, e.fresh, e.new_site), (1, false, false));
        assert!(t.exit(|| 5).is_some());
        assert!(t.exit(|| 6).is_none());
        assert_eq!(t.nodes.len(), 7);
    }

    #[test]
    fn sites_overflow_into_the_map_and_are_all_counted() {
        let mut t = CallTree::default();
        let mut fresh = Vec::new();
        for p in [1, 2, 3, 3, 1, 4] {
            fresh.push(t.enter(7, site(p), || 0).new_site);
            t.exit(|| 1);
        }
        assert_eq!(fresh, [true, true, true, false, false, true]);
        let mut all: Vec<(u64, u64)> = t.sites().map(|(_, s, c)| (s.pos, c)).collect();
        all.sort();
        assert_eq!(all, vec![(1, 2), (2, 1), (3, 2), (4, 1)]);
    }

    #[test]
    fn untimed_nodes_pass_their_childrens_time_up_and_keep_none() {
        let mut t = CallTree::default();
        t.enter(1, site(1), || 0); // timed parent
        t.nodes[1].timed = true;
        t.enter(2, site(1), || 10); // untimed primop (made untimed after creation below)
        t.nodes[2].timed = false;
        t.stack.last_mut().unwrap().timed = false;
        t.enter(3, site(1), || 20); // timed lambda inside the primop
        t.exit(|| 50);
        t.exit(|| 60);
        t.exit(|| 100);
        let (incl, own) = t.times();
        assert_eq!((incl[1], incl[2], incl[3]), (100, 30, 30));
        assert_eq!((own[1], own[2], own[3]), (70, 0, 30));
    }
}
