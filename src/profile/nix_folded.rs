//! Imports the folded stacks of Nix's built-in profiler (`--eval-profiler flamegraph`, Nix ≥
//! 2.30) into the profile model: the fallback when the plugin cannot load.
//!
//! Each line is `frame;frame;… count`; a frame is `FILE:LINE:COL:NAME` where the position is
//! the *call site* (Nix prints the lambda's own position only when the call site has none) and
//! NAME is a lambda's name, `primop NAME`, `functor` or nothing (anonymous lambda). Nix samples
//! when a call starts, so at `--eval-profiler-frequency 0` a stack's count is the number of
//! calls of its last frame along that path: exact call counts. Nix flushes its table every few
//! seconds and starts afresh, so the same stack can appear on several lines: counts add up.

use super::{CallNode, CallSite, FileRow, Frame, FrameKind, Meta, Profile, ProfileError, Source};
use std::collections::HashMap;
use std::io::BufRead;

/// Builds a profile from folded text. `meta.source` must be `NixEvalProfiler`; its `hz` says
/// whether counts are calls (0) or samples; `meta.wall_ns` becomes the evaluator's own row,
/// since Nix's profiler attributes no time to files.
/// Reads line by line: every-call output is large (740 MB for `fib 25`).
pub fn from_nix_folded(input: impl BufRead, meta: Meta) -> Result<Profile, ProfileError> {
    let hz = match &meta.source {
        Source::NixEvalProfiler { hz, .. } => *hz,
        Source::Plugin => 0,
    };
    let sample_ns = if hz == 0 {
        0
    } else {
        1_000_000_000 / hz as u64
    };
    let mut b = Builder::default();
    b.files.push(FileRow {
        id: 0,
        path: "\u{ab}evaluator\u{bb}".into(),
        role: crate::profile::FileRole::Evaluator,
        self_ns: meta.wall_ns,
        inclusive_ns: meta.wall_ns,
        ..FileRow::default()
    });
    b.nodes.push(CallNode::default());
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(|e| ProfileError::Corrupt {
            path: "nix --eval-profile-file".into(),
            detail: format!("line {}: {e}", i + 1),
        })?;
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        let bad = |detail: &str| ProfileError::Corrupt {
            path: "nix --eval-profile-file".into(),
            detail: format!("line {}: {detail}: {line:?}", i + 1),
        };
        let (stack, count) = line.rsplit_once(' ').ok_or_else(|| bad("no count"))?;
        let count: u64 = count.parse().map_err(|_| bad("count is not a number"))?;
        let mut node = 0u32;
        for frame in stack.split(';') {
            let frame = b.frame(frame);
            node = b.child(node, frame);
        }
        if node == 0 {
            return Err(bad("empty stack"));
        }
        b.nodes[node as usize].count += count;
    }
    // Sampled: a sample stands for 1/hz s of the stack's own time. Children follow parents in
    // `nodes`, so one reverse pass sums inclusive times.
    for n in &mut b.nodes {
        n.self_ns = n.count * sample_ns;
        n.inclusive_ns = n.self_ns;
    }
    for i in (1..b.nodes.len()).rev() {
        let (parent, incl) = (b.nodes[i].parent as usize, b.nodes[i].inclusive_ns);
        if parent != 0 {
            b.nodes[parent].inclusive_ns += incl;
        }
    }
    let call_sites = b
        .nodes
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, n)| {
            let f = &b.frames[n.frame as usize];
            CallSite {
                node: i as u32,
                file: f.file,
                line: f.line,
                col: f.col,
                count: n.count,
            }
        })
        .collect();
    for f in &mut b.frames {
        f.timed = hz != 0;
    }
    Ok(Profile {
        meta,
        files: b.files,
        frames: b.frames,
        nodes: b.nodes,
        call_sites,
        findings: Vec::new(),
        ifds: Vec::new(),
    })
}

#[derive(Default)]
struct Builder {
    files: Vec<FileRow>,
    file_ids: HashMap<String, u32>,
    frames: Vec<Frame>,
    frame_ids: HashMap<String, u32>,
    nodes: Vec<CallNode>,
    children: HashMap<(u32, u32), u32>,
}

impl Builder {
    fn file(&mut self, path: &str) -> u32 {
        if path.is_empty() {
            return 0;
        }
        if let Some(&id) = self.file_ids.get(path) {
            return id;
        }
        let id = self.files.len() as u32;
        self.files.push(FileRow {
            id,
            path: path.to_owned(),
            // Unknown: Nix's profiler does not say; no attribution is made to any file.
            is_library: false,
            ..FileRow::default()
        });
        self.file_ids.insert(path.to_owned(), id);
        id
    }

    fn frame(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.frame_ids.get(text) {
            return id;
        }
        let (path, line, col, name) = split_frame(text);
        let (kind, name) = if let Some(p) = name.strip_prefix("primop ") {
            (FrameKind::Primop, p.to_owned())
        } else if name == "functor" {
            (FrameKind::Functor, "functor".to_owned())
        } else if name.is_empty() {
            (FrameKind::Lambda, "(anonymous lambda)".to_owned())
        } else {
            (FrameKind::Lambda, name.to_owned())
        };
        let file = self.file(path);
        let id = self.frames.len() as u32;
        self.frames.push(Frame {
            kind,
            name,
            file,
            line,
            col,
            timed: false,
        });
        self.frame_ids.insert(text.to_owned(), id);
        id
    }

    fn child(&mut self, parent: u32, frame: u32) -> u32 {
        if let Some(&c) = self.children.get(&(parent, frame)) {
            return c;
        }
        let id = self.nodes.len() as u32;
        self.nodes.push(CallNode {
            parent,
            frame,
            ..CallNode::default()
        });
        self.children.insert((parent, frame), id);
        id
    }
}

/// `FILE:LINE:COL[:NAME]` → parts; the first `:digits:digits` followed by `:` or the end
/// ends the file (paths with such a run in them are not told apart). No position: all name.
fn split_frame(s: &str) -> (&str, u32, u32, &str) {
    let bytes = s.as_bytes();
    for (i, _) in s.match_indices(':') {
        let digits = |from: usize| {
            let n = bytes[from..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            (n > 0).then_some(from + n)
        };
        let Some(end_line) = digits(i + 1) else {
            continue;
        };
        if bytes.get(end_line) != Some(&b':') {
            continue;
        }
        let Some(end_col) = digits(end_line + 1) else {
            continue;
        };
        let name = match bytes.get(end_col) {
            None => "",
            Some(b':') => &s[end_col + 1..],
            Some(_) => continue,
        };
        let line = s[i + 1..end_line].parse().unwrap_or(0);
        let col = s[end_line + 1..end_col].parse().unwrap_or(0);
        return (&s[..i], line, col, name);
    }
    ("", 0, 0, s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Status;

    fn meta(hz: u32) -> Meta {
        Meta {
            status: Status::Complete,
            reason: String::new(),
            nix_version: "2.34.8".into(),
            nixperf_version: "test".into(),
            command: vec![],
            started_at: 0,
            wall_ns: 5_000,
            library_patterns: vec![],
            module_patterns: vec![],
            evaluator_stats: None,
            source: Source::NixEvalProfiler {
                hz,
                why: "test".into(),
            },
            clock_probe: Default::default(),
            recursion_fold: Default::default(),
        }
    }

    #[test]
    fn frames() {
        assert_eq!(split_frame("/a/b.nix:12:3:fib"), ("/a/b.nix", 12, 3, "fib"));
        assert_eq!(
            split_frame("«string»:1:19:primop lessThan"),
            ("«string»", 1, 19, "primop lessThan")
        );
        assert_eq!(split_frame("/x.nix:4:5"), ("/x.nix", 4, 5, ""));
        assert_eq!(
            split_frame("/x.nix:4:5:primop derivationStrict:hello"),
            ("/x.nix", 4, 5, "primop derivationStrict:hello")
        );
        assert_eq!(split_frame("primop add"), ("", 0, 0, "primop add"));
        assert_eq!(split_frame("/v2:x/y.nix:7:1:f"), ("/v2:x/y.nix", 7, 1, "f"));
    }

    #[test]
    fn every_call_counts_merge_repeated_stacks() {
        let text = "/f.nix:1:5:fib 1\n/f.nix:1:5:fib;/f.nix:1:9:primop sub 2\n/f.nix:1:5:fib 1\n";
        let p = from_nix_folded(text.as_bytes(), meta(0)).unwrap();
        assert_eq!(p.nodes.len(), 3);
        assert_eq!(p.nodes[1].count, 2);
        assert_eq!(p.nodes[2].count, 2);
        assert_eq!(p.frames[1].kind, FrameKind::Primop);
        assert_eq!(p.frames[1].name, "sub");
        assert!(p.frames.iter().all(|f| !f.timed));
        assert_eq!(p.total_ns(), 5_000);
        assert_eq!(p.files[1].path, "/f.nix");
        assert_eq!(p.call_sites.len(), 2);
    }

    #[test]
    fn sampled_times_and_inclusive() {
        let p = from_nix_folded(
            &b"a.nix:1:1:f 2\na.nix:1:1:f;a.nix:2:1:g 3\n"[..],
            meta(100),
        )
        .unwrap();
        assert_eq!(p.nodes[1].self_ns, 20_000_000);
        assert_eq!(p.nodes[1].inclusive_ns, 50_000_000);
        assert!(p.frames.iter().all(|f| f.timed));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(from_nix_folded(&b"no-count-here\n"[..], meta(0)).is_err());
        assert!(from_nix_folded(&b"a;b x\n"[..], meta(0)).is_err());
    }
}
