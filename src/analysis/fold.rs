//! Folded stacks (`a;b;c weight`) from a `StackTree`. A folded line repeats its whole path, so
//! the text grows with depth × nodes: 10 000-deep recursion would be 650 MB. Stacks are exact
//! while the text fits `EXACT_FOLDED_LIMIT` and the tree is shallower than the depth where the
//! plugin folds recursion while recording (`profile::FOLD_DEPTH`); beyond, recursion is
//! collapsed, as profilers'
//! "collapse recursion" views do (a label met again on its own stack merges into its outer
//! occurrence, the frames between included), which bounds every stack by the number of
//! distinct labels. `StackTree::write_exact` streams the exact text where it is asked for.

use super::tree;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The call tree as flamegraphs see it: each node a label and a weight (`Weight`), nothing
/// else. What the history keeps of an evaluation (its size grows with the nodes, not with
/// their depth), and what folded stacks are made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackTree {
    pub(super) labels: Vec<String>,
    /// `nodes[0]` is the root (no label); every other node's parent comes before it.
    pub(super) nodes: Vec<StackNode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackNode {
    pub parent: u32,
    pub label: u32,
    pub weight: u64,
}

impl StackTree {
    /// A tree from its parts, checked: parents before children, labels in range.
    pub fn from_parts(labels: Vec<String>, nodes: Vec<StackNode>) -> Result<StackTree, String> {
        if nodes.is_empty() {
            return Err("no root node".into());
        }
        for (i, n) in nodes.iter().enumerate().skip(1) {
            if n.parent as usize >= i {
                return Err(format!("node {i}: parent {} does not come first", n.parent));
            }
            if n.label as usize >= labels.len() {
                return Err(format!("node {i}: label {} out of range", n.label));
            }
        }
        Ok(StackTree { labels, nodes })
    }

    pub(crate) fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The nodes, the root first.
    pub(crate) fn nodes(&self) -> &[StackNode] {
        &self.nodes
    }

    /// Calls `enter(node)` before a node's children and `leave(node)` after them (depth
    /// first, iterative), for every node but the root.
    fn walk(&self, enter: impl FnMut(usize), leave: impl FnMut(usize)) {
        tree::walk_parents(
            self.nodes.len(),
            |i| self.nodes[i].parent as usize,
            enter,
            leave,
        )
    }
}

/// Exact folded text up to this size (the bundled example: 9 MB).
pub(crate) const EXACT_FOLDED_LIMIT: u64 = 32 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Collapse {
    /// Exact if `StackTree::exact_fits`, else collapsed.
    Auto,
    Never,
    Always,
}

fn exact_fits(depth: usize, bytes: u64) -> bool {
    bytes <= EXACT_FOLDED_LIMIT && depth < crate::profile::FOLD_DEPTH as usize
}

/// Folded stacks, identical paths merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Folded {
    pub stacks: BTreeMap<String, u64>,
    /// Whether recursion was collapsed (`Collapse`).
    pub recursion_collapsed: bool,
    /// The deepest stack of the tree, in frames.
    pub depth: usize,
}

impl Folded {
    /// From folded text (`stack weight` lines; others are skipped).
    pub fn parse(text: &str) -> Folded {
        let mut stacks = BTreeMap::new();
        let mut depth = 0;
        for (stack, n) in text
            .lines()
            .filter_map(|l| l.rsplit_once(' '))
            .filter_map(|(k, v)| Some((k, v.parse::<u64>().ok()?)))
        {
            depth = depth.max(stack.split(';').count());
            *stacks.entry(stack.to_owned()).or_insert(0) += n;
        }
        Folded {
            stacks,
            recursion_collapsed: false,
            depth,
        }
    }

    pub fn total(&self) -> u64 {
        self.stacks.values().sum()
    }

    pub(crate) fn write_text(&self, mut out: impl Write) -> io::Result<()> {
        for (s, n) in &self.stacks {
            writeln!(out, "{s} {n}")?;
        }
        out.flush()
    }

    pub fn to_text(&self) -> String {
        let mut out = Vec::new();
        self.write_text(&mut out).expect("writing to memory");
        String::from_utf8(out).expect("labels are UTF-8")
    }

    /// What a reader of the flamegraph must know when recursion was collapsed.
    pub fn note(&self) -> Option<String> {
        self.recursion_collapsed.then(|| {
            format!(
                "the call tree is {} frames deep: recursion collapsed (a function met again on its own stack is merged into its outer call)",
                self.depth
            )
        })
    }
}

impl StackTree {
    /// (deepest stack in frames, bytes of the exact folded text).
    pub(crate) fn measure(&self) -> (usize, u64) {
        let nodes = self.nodes();
        let labels = self.labels();
        let mut len = vec![0u64; nodes.len()];
        let mut depth = vec![0u32; nodes.len()];
        let (mut max_depth, mut bytes) = (0u32, 0u64);
        for (i, n) in nodes.iter().enumerate().skip(1) {
            let p = n.parent as usize;
            len[i] = len[p] + u64::from(p != 0) + labels[n.label as usize].len() as u64;
            depth[i] = depth[p] + 1;
            max_depth = max_depth.max(depth[i]);
            if n.weight > 0 {
                // "path weight\n"
                bytes += len[i] + 2 + n.weight.checked_ilog10().unwrap_or(0) as u64 + 1;
            }
        }
        (max_depth as usize, bytes)
    }

    /// Whether exact folded stacks suit this tree: their text fits `EXACT_FOLDED_LIMIT`, and
    /// no path reaches `FOLD_DEPTH` (a profile whose recursion the plugin folded does).
    pub fn exact_fits(&self) -> bool {
        let (depth, bytes) = self.measure();
        exact_fits(depth, bytes)
    }

    /// Folded stacks; `Collapse` says whether recursion is collapsed.
    pub(crate) fn fold(&self, collapse: Collapse) -> Folded {
        let (depth, bytes) = self.measure();
        let collapsed = match collapse {
            Collapse::Auto => !exact_fits(depth, bytes),
            Collapse::Never => false,
            Collapse::Always => true,
        };
        let stacks = if collapsed {
            self.fold_collapsed()
        } else {
            let out = RefCell::new(BTreeMap::new());
            self.walk_paths(|path, w| add(&mut out.borrow_mut(), path, w));
            out.into_inner()
        };
        Folded {
            stacks,
            recursion_collapsed: collapsed,
            depth,
        }
    }

    /// The exact folded text, streamed (memory: one path), one line per weighted node: paths
    /// that several nodes share are repeated (folded readers add them up).
    pub(crate) fn write_exact(&self, out: impl Write) -> io::Result<()> {
        let mut out = io::BufWriter::new(out);
        let mut err = None;
        self.walk_paths(|path, w| {
            if err.is_none()
                && let Err(e) = writeln!(out, "{path} {w}")
            {
                err = Some(e);
            }
        });
        match err {
            Some(e) => Err(e),
            None => out.flush(),
        }
    }

    /// Calls `each(path, weight)` for every node with a weight, depth first.
    fn walk_paths(&self, mut each: impl FnMut(&str, u64)) {
        let nodes = self.nodes();
        let labels = self.labels();
        // The current path, and where each level starts in it.
        let path = RefCell::new((String::new(), Vec::<usize>::new()));
        self.walk(
            |i| {
                let (s, starts) = &mut *path.borrow_mut();
                starts.push(s.len());
                if !s.is_empty() {
                    s.push(';');
                }
                s.push_str(&labels[nodes[i].label as usize]);
                if nodes[i].weight > 0 {
                    each(s, nodes[i].weight);
                }
            },
            |_| {
                let (s, starts) = &mut *path.borrow_mut();
                if let Some(at) = starts.pop() {
                    s.truncate(at);
                }
            },
        );
    }

    /// Folded stacks where a label already on the stack takes the stack back to that
    /// occurrence: its weight and its callees' merge into the outer call.
    fn fold_collapsed(&self) -> BTreeMap<String, u64> {
        const ABSENT: u32 = u32::MAX;
        enum Undo {
            Pushed,
            /// The stack went back to an outer occurrence: what it cut off, to restore.
            Collapsed {
                cut: Vec<(u32, usize)>,
                tail: String,
            },
        }
        struct State {
            s: String,
            /// (label, where it starts in `s`) per level.
            levels: Vec<(u32, usize)>,
            /// The level of each label on the current stack.
            level_of: Vec<u32>,
            undo: Vec<Undo>,
            out: BTreeMap<String, u64>,
        }
        let nodes = self.nodes();
        let labels = self.labels();
        let st = RefCell::new(State {
            s: String::new(),
            levels: Vec::new(),
            level_of: vec![ABSENT; labels.len()],
            undo: Vec::new(),
            out: BTreeMap::new(),
        });
        self.walk(
            |i| {
                let st = &mut *st.borrow_mut();
                let label = nodes[i].label;
                match st.level_of[label as usize] {
                    ABSENT => {
                        let start = st.s.len();
                        if !st.s.is_empty() {
                            st.s.push(';');
                        }
                        st.s.push_str(&labels[label as usize]);
                        st.level_of[label as usize] = st.levels.len() as u32;
                        st.levels.push((label, start));
                        st.undo.push(Undo::Pushed);
                    }
                    level => {
                        let cut = st.levels.split_off(level as usize + 1);
                        let tail = match cut.first() {
                            Some(&(_, start)) => st.s.split_off(start),
                            None => String::new(),
                        };
                        for &(l, _) in &cut {
                            st.level_of[l as usize] = ABSENT;
                        }
                        st.undo.push(Undo::Collapsed { cut, tail });
                    }
                }
                if nodes[i].weight > 0 {
                    add(&mut st.out, &st.s, nodes[i].weight);
                }
            },
            |_| {
                let st = &mut *st.borrow_mut();
                match st.undo.pop() {
                    Some(Undo::Pushed) => {
                        if let Some((l, start)) = st.levels.pop() {
                            st.level_of[l as usize] = ABSENT;
                            st.s.truncate(start);
                        }
                    }
                    Some(Undo::Collapsed { cut, tail }) => {
                        let base = st.levels.len();
                        for (j, &(l, _)) in cut.iter().enumerate() {
                            st.level_of[l as usize] = (base + j) as u32;
                        }
                        st.levels.extend_from_slice(&cut);
                        st.s.push_str(&tail);
                    }
                    None => {}
                }
            },
        );
        st.into_inner().out
    }
}

fn add(out: &mut BTreeMap<String, u64>, path: &str, w: u64) {
    match out.get_mut(path) {
        Some(n) => *n += w,
        None => {
            out.insert(path.to_owned(), w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree from (parent, label, weight) rows after the root.
    fn tree(labels: &[&str], rows: &[(u32, u32, u64)]) -> StackTree {
        let mut nodes = vec![StackNode {
            parent: 0,
            label: 0,
            weight: 0,
        }];
        nodes.extend(rows.iter().map(|&(parent, label, weight)| StackNode {
            parent,
            label,
            weight,
        }));
        StackTree::from_parts(labels.iter().map(|s| s.to_string()).collect(), nodes).unwrap()
    }

    #[test]
    fn exact_stacks_merge_equal_paths() {
        // main → f → g (3), main → f (1), main → f → g (2) through another node.
        let t = tree(
            &["main", "f", "g"],
            &[(0, 0, 0), (1, 1, 1), (2, 2, 3), (1, 1, 0), (4, 2, 2)],
        );
        let f = t.fold(Collapse::Never);
        assert_eq!(f.to_text(), "main;f 1\nmain;f;g 5\n");
        assert_eq!(f.depth, 3);
        assert!(!f.recursion_collapsed);
        assert_eq!(t.fold(Collapse::Auto), f);
        let (_, bytes) = t.measure();
        let mut exact = Vec::new();
        t.write_exact(&mut exact).unwrap();
        assert_eq!(bytes, exact.len() as u64);
        assert_eq!(
            String::from_utf8(exact).unwrap(),
            "main;f 1\nmain;f;g 3\nmain;f;g 2\n"
        );
    }

    #[test]
    fn collapsing_merges_direct_and_mutual_recursion_into_the_outer_call() {
        // main → f → op → f → op → f → sub, and a sibling g of the inner op.
        let t = tree(
            &["main", "f", "op", "sub", "g"],
            &[
                (0, 0, 1),
                (1, 1, 10),
                (2, 2, 20),
                (3, 1, 11),
                (4, 2, 21),
                (5, 1, 12),
                (6, 3, 5),
                (4, 4, 7),
                (8, 1, 2),
            ],
        );
        let f = t.fold(Collapse::Always);
        assert_eq!(
            f.to_text(),
            "main 1\nmain;f 35\nmain;f;g 7\nmain;f;op 41\nmain;f;sub 5\n"
        );
        assert_eq!(f.total(), t.fold(Collapse::Never).total());
        assert_eq!(f.depth, 7);
        assert!(f.note().unwrap().contains("7 frames deep"));
    }

    #[test]
    fn deep_recursion_folds_in_linear_time_and_bounded_text() {
        // 200 000 nodes: f → sub, f → sub, … (the exact text: ~2e10 bytes).
        let mut rows = vec![(0u32, 0u32, 1u64)];
        for _i in 0..100_000u32 {
            let f = rows.len() as u32; // index of the last f (1-based: rows start at node 1)
            rows.push((f, 1, 1)); // sub under f
            rows.push((f, 0, 1)); // the next f
        }
        let t = tree(&["f", "sub"], &rows);
        let (depth, bytes) = t.measure();
        assert_eq!(depth, 100_001);
        assert!(bytes > 10_000_000_000, "{bytes}");
        let f = t.fold(Collapse::Auto);
        assert!(f.recursion_collapsed);
        assert_eq!(f.to_text(), "f 100001\nf;sub 100000\n");
    }
}
