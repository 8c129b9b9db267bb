//! The in-memory call tree: one node per call path, with call count and inclusive ticks.
//! Per call: scan the parent's few cached children (hits for loops and recursion), hash lookup
//! only on a miss, allocation only for a new path.

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
    pub parent: u32,
    /// Index into the frame table, UNDESCRIBED until `describe`.
    pub frame: u32,
    /// File that owns the callee's body (non-library lambda), or NO_OWNER.
    pub owner: u32,
    pub count: u64,
    pub ticks: u64,
    pub sites: [(Site, u64); INLINE_SITES],
    /// (callee, child) pairs; child 0 marks an empty slot.
    kids: [(usize, u32); KID_CACHE],
}

impl Node {
    fn new(parent: u32) -> Node {
        Node {
            parent,
            frame: UNDESCRIBED,
            owner: NO_OWNER,
            count: 0,
            ticks: 0,
            sites: [(Site::default(), 0); INLINE_SITES],
            kids: [(0, 0); KID_CACHE],
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Active {
    pub node: u32,
    pub start: u64,
    pub pushed_owner: bool,
}

pub struct CallTree {
    pub nodes: Vec<Node>,
    children: FxHashMap<(u32, usize), u32>,
    /// Call counts of sites beyond a node's inline slots.
    pub more_sites: FxHashMap<(u32, Site), u64>,
    pub stack: Vec<Active>,
}

impl Default for CallTree {
    fn default() -> Self {
        CallTree {
            nodes: vec![Node::new(0)],
            children: FxHashMap::default(),
            more_sites: FxHashMap::default(),
            stack: Vec::with_capacity(1024),
        }
    }
}

impl CallTree {
    /// Enters a call of `key` (the callee: lambda AST node or primop, by address); returns the
    /// node, whether it was just created, and whether `site` is new for it.
    #[inline]
    pub fn enter(&mut self, key: usize, site: Site, tick: u64) -> (u32, bool, bool) {
        let parent = self.stack.last().map_or(0, |a| a.node);
        let p = &self.nodes[parent as usize];
        let mut hit = 0;
        for &(k, child) in &p.kids {
            if k == key && child != 0 {
                hit = child;
                break;
            }
        }
        let (node, fresh) = if hit != 0 {
            (hit, false)
        } else {
            self.lookup(parent, key)
        };
        let n = &mut self.nodes[node as usize];
        n.count += 1;
        let new_site = Self::count_site(n, node, site, &mut self.more_sites);
        self.stack.push(Active {
            node,
            start: tick,
            pushed_owner: false,
        });
        (node, fresh, new_site)
    }

    #[inline]
    fn count_site(
        n: &mut Node,
        node: u32,
        site: Site,
        more: &mut FxHashMap<(u32, Site), u64>,
    ) -> bool {
        for slot in &mut n.sites {
            if slot.1 == 0 {
                *slot = (site, 1);
                return true;
            }
            if slot.0 == site {
                slot.1 += 1;
                return false;
            }
        }
        let c = more.entry((node, site)).or_insert(0);
        *c += 1;
        *c == 1
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

    /// Finds or creates the child, and caches it in the parent (an empty slot, else the slot
    /// chosen by the callee's address bits, so that hot children settle in different slots).
    #[cold]
    fn lookup(&mut self, parent: u32, key: usize) -> (u32, bool) {
        let next = self.nodes.len() as u32;
        let node = *self.children.entry((parent, key)).or_insert(next);
        let fresh = node == next;
        if fresh {
            self.nodes.push(Node::new(parent));
        }
        let kids = &mut self.nodes[parent as usize].kids;
        let slot = kids
            .iter()
            .position(|k| k.1 == 0)
            .unwrap_or((key >> 4) % KID_CACHE);
        kids[slot] = (key, node);
        (node, fresh)
    }

    /// Leaves the innermost call; None if there is none (unbalanced exit: ignored).
    #[inline]
    pub fn exit(&mut self, tick: u64) -> Option<Active> {
        let a = self.stack.pop()?;
        let n = &mut self.nodes[a.node as usize];
        n.ticks += tick.wrapping_sub(a.start);
        Some(a)
    }

    /// Self ticks per node: inclusive minus the children's inclusive.
    pub fn self_ticks(&self) -> Vec<u64> {
        let mut own: Vec<u64> = self.nodes.iter().map(|n| n.ticks).collect();
        for (i, n) in self.nodes.iter().enumerate().skip(1) {
            own[n.parent as usize] = own[n.parent as usize].saturating_sub(self.nodes[i].ticks);
        }
        own
    }
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
        // f calls f calls f; then f again at top level.
        let mut tick = 0;
        for _ in 0..2 {
            t.enter(1, site(1), tick);
            t.enter(1, site(2), tick + 1);
            t.exit(tick + 3);
            t.exit(tick + 10);
            tick += 20;
        }
        assert_eq!(t.nodes.len(), 3);
        assert_eq!(t.nodes[1].count, 2);
        assert_eq!(t.nodes[2].count, 2);
        assert_eq!(t.nodes[1].ticks, 20);
        assert_eq!(t.self_ticks()[1], 16);
    }

    #[test]
    fn cache_miss_finds_existing_child() {
        let mut t = CallTree::default();
        t.enter(1, site(1), 0);
        t.exit(1);
        t.enter(2, site(1), 2);
        t.exit(3);
        let (n, fresh, new_site) = t.enter(1, site(1), 4);
        assert_eq!((n, fresh, new_site), (1, false, false));
        assert!(t.exit(5).is_some());
        assert!(t.exit(6).is_none());
    }

    #[test]
    fn sites_overflow_into_the_map_and_are_all_counted() {
        let mut t = CallTree::default();
        let mut fresh = Vec::new();
        for p in [1, 2, 3, 3, 1, 4] {
            fresh.push(t.enter(7, site(p), 0).2);
            t.exit(1);
        }
        assert_eq!(fresh, [true, true, true, false, false, true]);
        let mut all: Vec<(u64, u64)> = t.sites().map(|(_, s, c)| (s.pos, c)).collect();
        all.sort();
        assert_eq!(all, vec![(1, 2), (2, 1), (3, 2), (4, 1)]);
    }
}
