//! Depth-first traversal of the call tree (iterative: recursion in Nix code makes deep trees).

use crate::profile::Profile;

/// Calls `enter(node)` before a node's children and `leave(node)` after them, for every node
/// but the root.
pub fn walk(p: &Profile, mut enter: impl FnMut(usize), mut leave: impl FnMut(usize)) {
    let n = p.nodes.len();
    let mut first_child = vec![usize::MAX; n];
    let mut next_sibling = vec![usize::MAX; n];
    for i in (1..n).rev() {
        let parent = p.nodes[i].parent as usize;
        next_sibling[i] = first_child[parent];
        first_child[parent] = i;
    }
    // (node, entered?)
    let mut stack: Vec<(usize, bool)> = Vec::new();
    let mut c = first_child[0];
    while c != usize::MAX {
        stack.push((c, false));
        c = next_sibling[c];
    }
    stack.reverse();
    while let Some((node, entered)) = stack.pop() {
        if entered {
            leave(node);
            continue;
        }
        enter(node);
        stack.push((node, true));
        let start = stack.len();
        let mut c = first_child[node];
        while c != usize::MAX {
            stack.push((c, false));
            c = next_sibling[c];
        }
        stack[start..].reverse();
    }
}
