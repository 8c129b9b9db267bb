//! The graph of what was built: edges come from the `.drv` files (ATerm `Derive(...)`, second
//! list = input derivations), restricted to the derivations built in this run. Only direct edges
//! matter: if X needs Y and Y was not built, Y's output was already valid, so nothing X waited
//! for hides behind Y. Weights are measured build wall times.

use super::model::BuildProfile;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::path::Path;

/// Input derivation paths of a `.drv` file.
pub(crate) fn input_drvs(drv_file: &Path) -> std::io::Result<Vec<String>> {
    let s = std::fs::read_to_string(drv_file)?;
    parse_input_drvs(&s).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "not a Derive(...) ATerm")
    })
}

/// `Derive([outputs…],[("/nix/store/…drv",["out"]),…],…)` → the input drv paths.
pub(crate) fn parse_input_drvs(s: &str) -> Option<Vec<String>> {
    let mut p = s.strip_prefix("Derive(")?.as_bytes();
    skip_term(&mut p)?; // outputs
    p = p.strip_prefix(b",[")?;
    let mut out = Vec::new();
    while p.first() == Some(&b'(') {
        p = &p[1..];
        out.push(string(&mut p)?);
        p = p.strip_prefix(b",")?;
        skip_term(&mut p)?; // output names
        p = p.strip_prefix(b")")?;
        if p.first() == Some(&b',') {
            p = &p[1..];
        }
    }
    p.strip_prefix(b"]")?;
    Some(out)
}

/// `Derive([("out","/nix/store/…-x","",""),…],…)` → the output paths.
pub(crate) fn parse_outputs(s: &str) -> Option<Vec<String>> {
    let mut p = s.strip_prefix("Derive([")?.as_bytes();
    let mut out = Vec::new();
    while p.first() == Some(&b'(') {
        p = &p[1..];
        string(&mut p)?; // output name
        p = p.strip_prefix(b",")?;
        out.push(string(&mut p)?);
        while p.first() == Some(&b',') {
            p = &p[1..];
            string(&mut p)?; // hash algorithm, hash
        }
        p = p.strip_prefix(b")")?;
        if p.first() == Some(&b',') {
            p = &p[1..];
        }
    }
    p.strip_prefix(b"]")?;
    Some(out)
}

fn string(p: &mut &[u8]) -> Option<String> {
    *p = p.strip_prefix(b"\"")?;
    let mut out = Vec::new();
    loop {
        let (&c, rest) = p.split_first()?;
        *p = rest;
        match c {
            b'"' => return String::from_utf8(out).ok(),
            b'\\' => {
                let (&e, rest) = p.split_first()?;
                *p = rest;
                out.push(match e {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    e => e,
                });
            }
            c => out.push(c),
        }
    }
}

/// Skips one string, list or tuple.
fn skip_term(p: &mut &[u8]) -> Option<()> {
    match p.first()? {
        b'"' => string(p).map(|_| ()),
        open @ (b'[' | b'(') => {
            let close = if *open == b'[' { b']' } else { b')' };
            *p = &p[1..];
            loop {
                match p.first()? {
                    c if *c == close => {
                        *p = &p[1..];
                        return Some(());
                    }
                    b',' => *p = &p[1..],
                    _ => skip_term(p)?,
                }
            }
        }
        _ => None,
    }
}

/// Edges (input, dependent) among the profile's derivations, read from their `.drv` files. A
/// missing `.drv` (a replay on another machine, a GC'd store) gives no edges for it: counted.
pub(crate) fn edges_from_store(p: &BuildProfile) -> (Vec<(u32, u32)>, usize) {
    let mut index: FxHashMap<&str, u32> = FxHashMap::default();
    for (i, d) in p.derivations.iter().enumerate() {
        index.entry(d.drv_path.as_str()).or_insert(i as u32);
    }
    let (mut edges, mut unreadable) = (Vec::new(), 0);
    for (i, d) in p.derivations.iter().enumerate() {
        if index.get(d.drv_path.as_str()) != Some(&(i as u32)) {
            continue;
        }
        match input_drvs(Path::new(&d.drv_path)) {
            Ok(inputs) => {
                for inp in inputs {
                    if let Some(&j) = index.get(inp.as_str()) {
                        edges.push((j, i as u32));
                    }
                }
            }
            Err(_) => unreadable += 1,
        }
    }
    edges.sort_unstable();
    edges.dedup();
    (edges, unreadable)
}

/// Adjacency with weights, in a topological order (Kahn; edges inside a cycle, which valid
/// derivations cannot have, are dropped rather than looping).
pub(crate) struct Graph {
    pub dur: Vec<u64>,
    pub preds: Vec<Vec<usize>>,
    pub succs: Vec<Vec<usize>>,
    pub topo: Vec<usize>,
}

impl Graph {
    pub(crate) fn new(p: &BuildProfile) -> Graph {
        Graph::from_parts(
            p.derivations.iter().map(|d| d.wall_ns()).collect(),
            &p.edges,
        )
    }

    /// From durations and (input, dependent) edges: what a prediction builds before any build.
    pub(crate) fn from_parts(dur: Vec<u64>, edges: &[(u32, u32)]) -> Graph {
        let n = dur.len();
        let (mut preds, mut succs) = (vec![Vec::new(); n], vec![Vec::new(); n]);
        for &(a, b) in edges {
            let (a, b) = (a as usize, b as usize);
            if a < n && b < n && a != b {
                succs[a].push(b);
                preds[b].push(a);
            }
        }
        let mut indeg: Vec<usize> = preds.iter().map(Vec::len).collect();
        let mut topo: Vec<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
        let mut k = 0;
        while k < topo.len() {
            let v = topo[k];
            k += 1;
            for &s in &succs[v] {
                indeg[s] -= 1;
                if indeg[s] == 0 {
                    topo.push(s);
                }
            }
        }
        if topo.len() < n {
            let seen: std::collections::HashSet<usize> = topo.iter().copied().collect();
            let cyclic: Vec<usize> = (0..n).filter(|i| !seen.contains(i)).collect();
            for &v in &cyclic {
                preds[v].retain(|u| seen.contains(u));
                succs[v].clear();
            }
            for s in succs.iter_mut() {
                s.retain(|x| seen.contains(x));
            }
            topo.extend(cyclic);
        }
        Graph {
            dur,
            preds,
            succs,
            topo,
        }
    }

    /// Longest weighted path from each node to any sink, the node included ("bottom level").
    pub(crate) fn bottom_levels(&self) -> Vec<u64> {
        let mut bl = vec![0u64; self.dur.len()];
        for &v in self.topo.iter().rev() {
            bl[v] = self.dur[v] + self.succs[v].iter().map(|&s| bl[s]).max().unwrap_or(0);
        }
        bl
    }

    /// The critical path (node indices, inputs first) and its length.
    pub(crate) fn critical_path(&self) -> (Vec<usize>, u64) {
        let bl = self.bottom_levels();
        let Some(mut v) = (0..bl.len())
            .filter(|&v| self.preds[v].is_empty())
            .max_by_key(|&v| (bl[v], std::cmp::Reverse(v)))
        else {
            return (Vec::new(), 0);
        };
        let len = bl[v];
        let mut path = vec![v];
        while let Some(&s) = self.succs[v]
            .iter()
            .max_by_key(|&&s| (bl[s], std::cmp::Reverse(s)))
        {
            path.push(s);
            v = s;
        }
        (path, len)
    }

    /// Number of derivations that depend on each one, transitively.
    pub(crate) fn transitive_dependents(&self) -> Vec<usize> {
        let n = self.dur.len();
        // Bitsets per node, filled in reverse topological order: dependents(v) = ∪ {s} ∪ dep(s).
        let words = n.div_ceil(64);
        let mut sets = vec![0u64; n * words];
        for &v in self.topo.iter().rev() {
            for &s in &self.succs[v] {
                sets[v * words + s / 64] |= 1 << (s % 64);
                for w in 0..words {
                    let x = sets[s * words + w];
                    sets[v * words + w] |= x;
                }
            }
        }
        (0..n)
            .map(|v| {
                sets[v * words..(v + 1) * words]
                    .iter()
                    .map(|w| w.count_ones() as usize)
                    .sum()
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct GraphSummary {
    pub derivations: usize,
    pub edges: usize,
    pub total_work_ns: u64,
    pub critical_path: Vec<String>,
    pub critical_path_ns: u64,
    /// Share of the build work that is off the critical path and can overlap with it:
    /// (total work − critical path) / total work.
    pub parallelizable_share: f64,
    /// (name, transitive dependents), most first.
    pub bottlenecks: Vec<(String, usize)>,
}

pub(crate) fn summarize(p: &BuildProfile, top: usize) -> GraphSummary {
    let g = Graph::new(p);
    let (path, cp) = g.critical_path();
    let total: u64 = g.dur.iter().sum();
    let deps = g.transitive_dependents();
    let mut b: Vec<(String, usize)> = deps
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, &n)| (p.derivations[i].name.clone(), n))
        .collect();
    b.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
    b.truncate(top);
    GraphSummary {
        derivations: g.dur.len(),
        edges: p.edges.len(),
        total_work_ns: total,
        critical_path: path
            .iter()
            .map(|&i| p.derivations[i].name.clone())
            .collect(),
        critical_path_ns: cp,
        parallelizable_share: if total == 0 {
            0.0
        } else {
            (total - cp) as f64 / total as f64
        },
        bottlenecks: b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parses_real_drv_aterm() {
        let s = r#"Derive([("out","/nix/store/aaa-d","","")],[("/nix/store/x-b.drv",["out"]),("/nix/store/y-c.drv",["dev","out"])],[],"x86_64-linux","/bin/sh",["-c","echo \"hi\"\n"],[("deps","a b")])"#;
        assert_eq!(
            parse_input_drvs(s).unwrap(),
            vec!["/nix/store/x-b.drv", "/nix/store/y-c.drv"]
        );
        assert_eq!(
            parse_input_drvs(r#"Derive([("out","/p","","")],[],[],"s","b",[],[])"#).unwrap(),
            Vec::<String>::new()
        );
        assert!(parse_input_drvs("Derive([(").is_none());
        assert_eq!(parse_outputs(s).unwrap(), vec!["/nix/store/aaa-d"]);
        assert_eq!(
            parse_outputs(
                r#"Derive([("dev","/p-dev","",""),("out","/p","","")],[],[],"s","b",[],[])"#
            )
            .unwrap(),
            vec!["/p-dev", "/p"]
        );
    }
}
