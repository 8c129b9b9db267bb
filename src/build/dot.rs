//! Graphviz dot of the built graph: nodes labelled with build time, critical path in red,
//! failed builds filled.

use super::graph::Graph;
use super::model::{BuildProfile, Outcome};
use crate::units::fmt_ns;
use std::fmt::Write;

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

pub(crate) fn dot(p: &BuildProfile) -> String {
    let g = Graph::new(p);
    let (cp, _) = g.critical_path();
    let on_cp = |v: usize| cp.contains(&v);
    let mut s =
        String::from("digraph build {\n  rankdir=LR;\n  node [shape=box, fontname=\"sans\"];\n");
    for (i, d) in p.derivations.iter().enumerate() {
        // Quote each part, then join them with dot's line break `\n` (escaped, it would print).
        let name = quote(&d.name);
        let time = quote(&fmt_ns(d.wall_ns()));
        let mut attrs = format!("label={}\\n{}", &name[..name.len() - 1], &time[1..]);
        if on_cp(i) {
            attrs.push_str(", color=red, penwidth=2");
        }
        if d.outcome != Outcome::Built {
            attrs.push_str(", style=filled, fillcolor=\"#f4cccc\"");
        }
        let _ = writeln!(s, "  n{i} [{attrs}];");
    }
    for &(a, b) in &p.edges {
        let red = cp
            .windows(2)
            .any(|w| w[0] == a as usize && w[1] == b as usize);
        let _ = writeln!(
            s,
            "  n{a} -> n{b}{};",
            if red { " [color=red, penwidth=2]" } else { "" }
        );
    }
    s.push_str("}\n");
    s
}
