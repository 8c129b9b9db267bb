//! Exact per-function totals from the call tree: calls, self time, and inclusive time that
//! counts a recursive function once per outermost activation.

use super::tree;
use crate::profile::{FrameKind, Profile};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct FunctionRow {
    pub frame: u32,
    pub kind: FrameKind,
    pub name: String,
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub calls: u64,
    /// False for constant-cost primops that are counted, not timed.
    pub timed: bool,
    /// Calls whose time was measured; fewer than `calls` when the times are extrapolated
    /// (a tiny function stops reading the clock after its first calls).
    pub clocked_calls: u64,
    pub self_ns: u64,
    pub inclusive_ns: u64,
}

impl FunctionRow {
    /// Times scaled from the measured calls to all calls (not for untimed primops, nor for
    /// imported profiles, which measure no call).
    pub fn estimated(&self) -> bool {
        self.timed && self.clocked_calls > 0 && self.clocked_calls < self.calls
    }
}

pub fn function_table(p: &Profile) -> Vec<FunctionRow> {
    let mut rows: Vec<FunctionRow> = p
        .frames
        .iter()
        .enumerate()
        .map(|(i, f)| FunctionRow {
            frame: i as u32,
            kind: f.kind,
            name: f.name.clone(),
            file: p.file_path(f.file).to_owned(),
            line: f.line,
            col: f.col,
            calls: 0,
            timed: f.timed,
            clocked_calls: 0,
            self_ns: 0,
            inclusive_ns: 0,
        })
        .collect();
    // How many times each frame is active on the current path.
    let mut active = vec![0u32; p.frames.len()];
    let rows_cell = std::cell::RefCell::new(&mut rows);
    let active_cell = std::cell::RefCell::new(&mut active);
    tree::walk(
        p,
        |i| {
            let node = &p.nodes[i];
            let f = node.frame as usize;
            let mut active = active_cell.borrow_mut();
            let mut rows = rows_cell.borrow_mut();
            let r = &mut rows[f];
            r.calls += node.count;
            r.clocked_calls += node.clocked_calls;
            r.self_ns += node.self_ns;
            if active[f] == 0 {
                r.inclusive_ns += node.inclusive_ns;
            }
            active[f] += 1;
        },
        |i| active_cell.borrow_mut()[p.nodes[i].frame as usize] -= 1,
    );
    rows.retain(|r| r.calls > 0);
    rows.sort_by(|a, b| b.self_ns.cmp(&a.self_ns).then(b.calls.cmp(&a.calls)));
    rows
}
