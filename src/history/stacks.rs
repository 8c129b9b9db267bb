//! An evaluation run's stacks as the history returns them: the stored `StackTree` (schema 5
//! on), or the folded text runs recorded before it.

use crate::analysis::stacks::{Collapse, Folded, StackTree};

#[derive(Debug, Clone)]
pub(crate) enum RunStacks {
    Tree(StackTree),
    /// Folded text, as recorded by nixperf before the history kept the tree.
    Folded(String),
}

impl RunStacks {
    /// Whether exact stacks would exceed `EXACT_FOLDED_LIMIT` (then recursion is collapsed).
    fn too_big_for_exact(&self) -> bool {
        match self {
            RunStacks::Tree(t) => !t.exact_fits(),
            RunStacks::Folded(_) => false,
        }
    }

    fn fold_with(&self, c: Collapse) -> Folded {
        match self {
            RunStacks::Tree(t) => t.fold(c),
            RunStacks::Folded(s) => Folded::parse(s),
        }
    }

    pub(crate) fn fold(&self) -> Folded {
        self.fold_with(Collapse::Auto)
    }
}

/// Two runs' stacks folded alike, for a differential flamegraph: recursion collapsed in both
/// if either is too deep for exact stacks (a stack is only comparable to its own kind).
pub(crate) fn fold_pair(before: &RunStacks, after: &RunStacks) -> (Folded, Folded) {
    let c = if before.too_big_for_exact() || after.too_big_for_exact() {
        Collapse::Always
    } else {
        Collapse::Never
    };
    (before.fold_with(c), after.fold_with(c))
}
