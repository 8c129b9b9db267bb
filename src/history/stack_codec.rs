//! The history's form of an evaluation's stacks: its `StackTree` as one compact blob — labels
//! once each, then per node (distance to its parent, label, weight) as LEB128 varints — so a
//! run's row grows with its call-tree nodes, not with their depth (folded text of a
//! 10 000-deep recursion was 650 MB). Differential flamegraphs fold it when they need it.

use crate::analysis::stacks::{StackNode, StackTree};

const MAGIC: &[u8; 4] = b"NPST";
const VERSION: u8 = 1;

pub(super) fn encode(t: &StackTree) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + t.nodes().len() * 6);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    put(&mut out, t.labels().len() as u64);
    for l in t.labels() {
        put(&mut out, l.len() as u64);
        out.extend_from_slice(l.as_bytes());
    }
    put(&mut out, t.nodes().len() as u64 - 1);
    for (i, n) in t.nodes().iter().enumerate().skip(1) {
        put(&mut out, (i - n.parent as usize) as u64);
        put(&mut out, u64::from(n.label));
        put(&mut out, n.weight);
    }
    out
}

/// The tree of a blob; a damaged blob is an error saying where, never a wrong tree.
pub(super) fn decode(b: &[u8]) -> Result<StackTree, String> {
    let rest = b
        .strip_prefix(MAGIC.as_slice())
        .ok_or("not a nixperf stack tree")?;
    let (&version, mut rest) = rest.split_first().ok_or("truncated stack tree")?;
    if version != VERSION {
        return Err(format!(
            "stack tree format {version} (this nixperf reads {VERSION})"
        ));
    }
    let n_labels = count(&mut rest, "labels")?;
    let mut labels = Vec::with_capacity(n_labels);
    for _ in 0..n_labels {
        let len = count(&mut rest, "label length")?;
        let (text, r) = rest.split_at_checked(len).ok_or("truncated label")?;
        labels.push(
            std::str::from_utf8(text)
                .map_err(|_| "a label is not UTF-8")?
                .to_owned(),
        );
        rest = r;
    }
    let n_nodes = count(&mut rest, "nodes")?;
    let mut nodes = Vec::with_capacity(n_nodes + 1);
    nodes.push(StackNode {
        parent: 0,
        label: 0,
        weight: 0,
    });
    for i in 1..=n_nodes {
        let up = get(&mut rest)?;
        let label = get(&mut rest)?;
        let weight = get(&mut rest)?;
        if up == 0 || up > i as u64 || label > u64::from(u32::MAX) {
            return Err(format!("node {i} is malformed"));
        }
        nodes.push(StackNode {
            parent: (i as u64 - up) as u32,
            label: label as u32,
            weight,
        });
    }
    if !rest.is_empty() {
        return Err(format!("{} bytes after the last node", rest.len()));
    }
    StackTree::from_parts(labels, nodes)
}

fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get(b: &mut &[u8]) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = b.split_first().ok_or("truncated stack tree")?;
        *b = rest;
        let bits = u64::from(byte & 0x7f);
        if shift == 63 && bits > 1 {
            break;
        }
        v |= bits << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("a number overflows 64 bits".into())
}

/// A count of items still to come: never more than the bytes left (each takes one at least),
/// so a damaged count cannot make us allocate gigabytes.
fn count(b: &mut &[u8], what: &str) -> Result<usize, String> {
    let n = get(b)?;
    if n > b.len() as u64 {
        return Err(format!("{what}: count {n} exceeds the blob"));
    }
    Ok(n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::stacks::Collapse;

    fn sample() -> StackTree {
        let nodes = vec![
            StackNode {
                parent: 0,
                label: 0,
                weight: 0,
            },
            StackNode {
                parent: 0,
                label: 0,
                weight: 3,
            },
            StackNode {
                parent: 1,
                label: 1,
                weight: u64::MAX,
            },
            StackNode {
                parent: 1,
                label: 2,
                weight: 0,
            },
        ];
        StackTree::from_parts(
            vec!["main x.nix:1:1".into(), "f;é".into(), String::new()],
            nodes,
        )
        .unwrap()
    }

    #[test]
    fn round_trips() {
        let t = sample();
        let b = encode(&t);
        assert_eq!(decode(&b).unwrap(), t);
        assert_eq!(
            decode(&b).unwrap().fold(Collapse::Never),
            t.fold(Collapse::Never)
        );
    }

    #[test]
    fn every_truncation_and_extension_is_an_error() {
        let b = encode(&sample());
        for len in 0..b.len() {
            assert!(decode(&b[..len]).is_err(), "cut at {len}");
        }
        let mut longer = b.clone();
        longer.push(0);
        assert!(decode(&longer).is_err());
    }

    #[test]
    fn bad_parents_labels_and_counts_are_errors() {
        let mut b = MAGIC.to_vec();
        b.push(VERSION);
        b.extend([0, 1, 2, 0, 0]); // no labels, one node whose parent is 2 up
        assert!(decode(&b).unwrap_err().contains("malformed"));
        let mut b = MAGIC.to_vec();
        b.push(VERSION);
        b.extend([0, 1, 1, 0, 0]); // label 0 of none
        assert!(decode(&b).unwrap_err().contains("out of range"));
        let mut b = MAGIC.to_vec();
        b.push(VERSION);
        b.extend([0xff, 0xff, 0xff, 0xff, 0x0f]); // 4 billion labels in 0 bytes
        assert!(decode(&b).unwrap_err().contains("exceeds"));
    }
}
