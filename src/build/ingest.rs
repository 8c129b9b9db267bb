//! Turns parsed log lines into a [`BuildProfile`]: pairs start/stop by activity id, attaches
//! results (log lines, phases, progress) to their activity, and links the pieces Nix 2.8 does not
//! link in its JSON (it writes no `parent`): a substitution's CopyPath is the one for the same
//! store path started while the substitution runs, and its NAR download is the next FileTransfer
//! under that substituter's URL started after it (Nix starts Substitute → CopyPath → FileTransfer
//! back to back on one thread, so the most recent unmatched substitution is the right one).

use super::log::{Action, Body, Line, act, parse_line, res};
use super::model::*;
use rustc_hash::FxHashMap;

enum Slot {
    Build(usize),
    Subst(usize),
    /// The CopyPath inside substitution n.
    SubstCopy,
    Copy(usize),
    /// A FileTransfer, and the substitution whose NAR it downloads.
    Transfer(usize, Option<usize>),
    Query(usize),
    /// The Builds activity: its progress counts finished and failed builds.
    Builds,
    /// A CopyPaths activity: in a build, its progress counts finished substitutions.
    CopyPaths,
    Other,
}

/// Nix's count of finished builds (Builds activity progress: done, expected, running, failed),
/// and how many of them Build stops have been credited with. Nix bumps the count just before
/// it stops a finished build's activity; an interrupted build stops without it.
#[derive(Default)]
struct BuildCounts {
    seen: bool,
    done: i64,
    failed: i64,
    done_credited: i64,
    failed_credited: i64,
}

pub struct Ingest {
    p: BuildProfile,
    active: FxHashMap<u64, Slot>,
    /// Substitutions still waiting for their NAR download.
    awaiting_nar: Vec<usize>,
    line_no: u64,
    last_t: u64,
    failed_drvs: Vec<String>,
    exit: Option<(Option<i32>, Option<i32>)>,
    counts: BuildCounts,
    /// CopyPaths activities seen, and the last finished count of one.
    copy_paths: (u32, Option<i64>),
    /// `@nix` lines parsed (a log without any is not a Nix log).
    nix_lines: u64,
}

impl Default for Ingest {
    fn default() -> Self {
        Self::new()
    }
}

impl Ingest {
    pub fn new() -> Self {
        Ingest {
            p: BuildProfile {
                meta: Meta {
                    status: Status::Succeeded,
                    reason: String::new(),
                    exit_code: None,
                    command: Vec::new(),
                    started_at: 0,
                    wall_ns: 0,
                    eval_end_ns: None,
                    timed: false,
                    nixperf_version: env!("CARGO_PKG_VERSION").to_string(),
                    cpus: 0,
                    unattributed_cpu_ns: 0,
                },
                derivations: Vec::new(),
                edges: Vec::new(),
                substitutions: Vec::new(),
                transfers: Vec::new(),
                copies: Vec::new(),
                queries: Vec::new(),
                errors: Vec::new(),
                warnings: Warnings::default(),
                samples: Vec::new(),
                sampler_cpu_ns: 0,
            },
            active: FxHashMap::default(),
            awaiting_nar: Vec::new(),
            line_no: 0,
            last_t: 0,
            failed_drvs: Vec::new(),
            exit: None,
            counts: BuildCounts::default(),
            copy_paths: (0, None),
            nix_lines: 0,
        }
    }

    /// The derivations seen so far (drv paths, in start order).
    pub(crate) fn derivations(&self) -> &[Derivation] {
        &self.p.derivations
    }

    /// Feeds one raw line (no newline). Never fails: bad lines are counted.
    pub fn line(&mut self, raw: &str) {
        self.line_no += 1;
        match parse_line(raw) {
            Ok(l) => self.parsed(l),
            Err(bad) => {
                self.p.warnings.malformed += 1;
                self.p.warnings.note(self.line_no, || bad.reason.clone());
                if let Some(t) = bad.t_ns {
                    self.advance(t);
                }
            }
        }
    }

    /// How many Nix (`@nix {…}`) lines were understood so far.
    pub fn nix_lines(&self) -> u64 {
        self.nix_lines
    }

    /// Feeds a whole log (a file's contents), splitting lines.
    pub fn text(&mut self, s: &str) {
        for l in s.split('\n') {
            if !l.is_empty() {
                self.line(l.strip_suffix('\r').unwrap_or(l));
            }
        }
    }

    fn advance(&mut self, t: u64) -> u64 {
        self.p.meta.timed = true;
        if t < self.last_t {
            self.p.warnings.out_of_order += 1;
            let (prev, n) = (self.last_t, self.line_no);
            self.p.warnings.note(n, || {
                format!("time goes backwards ({t} ns after {prev} ns)")
            });
        } else {
            self.last_t = t;
        }
        self.last_t
    }

    fn out_of_order(&mut self, what: String) {
        self.p.warnings.out_of_order += 1;
        self.p.warnings.note(self.line_no, || what);
    }

    fn parsed(&mut self, l: Line<'_>) {
        let t = match l.t_ns {
            Some(t) => self.advance(t),
            None => self.last_t,
        };
        let a = match l.body {
            Body::Nix(a) => {
                self.nix_lines += 1;
                a
            }
            Body::Nixperf(tr) => {
                if let Some(c) = tr.command {
                    self.p.meta.command = c;
                }
                if let Some(s) = tr.started_at {
                    self.p.meta.started_at = s;
                }
                if let Some(c) = tr.cpus {
                    self.p.meta.cpus = c;
                }
                if let Some(u) = tr.unattributed_cpu_ns {
                    self.p.meta.unattributed_cpu_ns = u;
                }
                if let Some(b) = tr.build_cpu {
                    match self
                        .p
                        .derivations
                        .iter_mut()
                        .rev()
                        .find(|d| d.drv_path == b.drv)
                    {
                        Some(d) => {
                            (d.cpu_ns, d.cores) = (Some(b.cpu_ns), b.cores);
                            (d.demand, d.active_share) = (b.demand, b.active_share);
                        }
                        None => {
                            self.out_of_order(format!("CPU time for {} that never built", b.drv))
                        }
                    }
                }
                if tr.exit_code.is_some() || tr.signal.is_some() {
                    self.exit = Some((tr.exit_code, tr.signal));
                }
                return;
            }
            Body::Text(_) => return,
        };
        match a {
            Action::Start {
                id,
                ty,
                text,
                fields,
                ..
            } => {
                if !act::known(ty) {
                    self.p.warnings.unknown_types += 1;
                    let n = self.line_no;
                    self.p
                        .warnings
                        .note(n, || format!("unknown activity type {ty}"));
                }
                if self.p.meta.eval_end_ns.is_none() && ends_evaluation(ty, &text) {
                    self.p.meta.eval_end_ns = Some(t);
                }
                let s = |i| fields.str(i).unwrap_or("").to_string();
                let slot = match ty {
                    act::BUILD => {
                        let drv = s(0);
                        self.p.derivations.push(Derivation {
                            name: store_name(&drv).to_string(),
                            drv_path: drv,
                            start_ns: t,
                            end_ns: t,
                            phases: Vec::new(),
                            log_lines: 0,
                            outcome: Outcome::Unfinished,
                            machine: s(1),
                            cpu_ns: None,
                            cores: None,
                            demand: None,
                            active_share: None,
                        });
                        Slot::Build(self.p.derivations.len() - 1)
                    }
                    act::SUBSTITUTE => {
                        self.p.substitutions.push(Substitution {
                            store_path: s(0),
                            substituter: s(1),
                            start_ns: t,
                            end_ns: t,
                            bytes: 0,
                            outcome: Outcome::Unfinished,
                        });
                        let i = self.p.substitutions.len() - 1;
                        self.awaiting_nar.push(i);
                        Slot::Subst(i)
                    }
                    act::COPY_PATH => {
                        let path = s(0);
                        let in_subst = self.active.values().any(|v| match v {
                            Slot::Subst(i) => self.p.substitutions[*i].store_path == path,
                            _ => false,
                        });
                        if in_subst {
                            Slot::SubstCopy
                        } else {
                            self.p.copies.push(Copy {
                                store_path: path,
                                from: s(1),
                                to: s(2),
                                start_ns: t,
                                end_ns: t,
                            });
                            Slot::Copy(self.p.copies.len() - 1)
                        }
                    }
                    act::FILE_TRANSFER => {
                        let url = s(0);
                        let owner = self.awaiting_nar.iter().rposition(|&i| {
                            let sub = &self.p.substitutions[i].substituter;
                            !sub.is_empty()
                                && url.starts_with(sub.as_str())
                                && url[sub.len()..].starts_with("/nar/")
                        });
                        let owner = owner.map(|k| self.awaiting_nar.remove(k));
                        self.p.transfers.push(Transfer {
                            url,
                            start_ns: t,
                            end_ns: t,
                            bytes: 0,
                            errors: 0,
                        });
                        Slot::Transfer(self.p.transfers.len() - 1, owner)
                    }
                    act::BUILDS => Slot::Builds,
                    act::COPY_PATHS => {
                        self.copy_paths.0 += 1;
                        Slot::CopyPaths
                    }
                    act::QUERY_PATH_INFO => {
                        self.p.queries.push(Query {
                            store_path: s(0),
                            substituter: s(1),
                            start_ns: t,
                            end_ns: t,
                        });
                        Slot::Query(self.p.queries.len() - 1)
                    }
                    _ => Slot::Other,
                };
                if self.active.insert(id, slot).is_some() {
                    self.out_of_order(format!("activity {id} started twice"));
                }
            }
            Action::Stop { id } => match self.active.remove(&id) {
                None => self.out_of_order(format!("stop of activity {id} that never started")),
                Some(slot) => self.stop(slot, t),
            },
            Action::Result { id, ty, fields } => {
                if !res::known(ty) {
                    self.p.warnings.unknown_types += 1;
                    let n = self.line_no;
                    self.p
                        .warnings
                        .note(n, || format!("unknown result type {ty}"));
                    return;
                }
                match self.active.get(&id) {
                    None => {
                        self.out_of_order(format!("result for activity {id} that is not running"))
                    }
                    Some(Slot::Build(i)) => {
                        let d = &mut self.p.derivations[*i];
                        match ty {
                            res::BUILD_LOG_LINE | res::POST_BUILD_LOG_LINE => d.log_lines += 1,
                            res::SET_PHASE => {
                                d.phases.push((fields.str(0).unwrap_or("").to_string(), t))
                            }
                            _ => {}
                        }
                    }
                    Some(Slot::Transfer(i, owner)) if ty == res::PROGRESS => {
                        let tr = &mut self.p.transfers[*i];
                        tr.bytes = tr.bytes.max(fields.int(0).unwrap_or(0).max(0) as u64);
                        if let Some(o) = owner {
                            self.p.substitutions[*o].bytes = tr.bytes;
                        }
                    }
                    Some(Slot::CopyPaths) if ty == res::PROGRESS => {
                        let done = fields.int(0).unwrap_or(0);
                        self.copy_paths.1 = Some(self.copy_paths.1.unwrap_or(0).max(done));
                    }
                    Some(Slot::Builds) if ty == res::PROGRESS => {
                        let c = &mut self.counts;
                        c.seen = true;
                        c.done = c.done.max(fields.int(0).unwrap_or(0));
                        c.failed = c.failed.max(fields.int(3).unwrap_or(0));
                    }
                    Some(_) => {}
                }
            }
            Action::Msg { level, msg } => {
                // Failed downloads are warnings (level 1) while Nix retries or gives up on a
                // substituter; errors (level 0) when fatal. Charge them to the transfer.
                if level <= 1
                    && let Some(url) = failed_download(&msg)
                    && let Some(tr) = self.p.transfers.iter_mut().rev().find(|x| x.url == url)
                {
                    tr.errors += 1;
                }
                if level == 0 {
                    let m = strip_ansi(&msg);
                    let m = m.strip_prefix("error: ").unwrap_or(&m).trim().to_string();
                    if let Some(drv) = failed_builder(&m) {
                        self.failed_drvs.push(drv.to_string());
                    }
                    self.p.errors.push(m);
                }
            }
            Action::Other => {
                self.p.warnings.unknown_types += 1;
                let n = self.line_no;
                self.p.warnings.note(n, || "unknown action".into());
            }
        }
    }

    fn stop(&mut self, slot: Slot, t: u64) {
        match slot {
            Slot::Build(i) => {
                let c = &mut self.counts;
                let outcome = if !c.seen {
                    Outcome::Built // a log without Builds progress: trust the stop
                } else if c.done > c.done_credited {
                    c.done_credited += 1;
                    Outcome::Built
                } else if c.failed > c.failed_credited {
                    c.failed_credited += 1;
                    Outcome::Failed
                } else {
                    Outcome::Unfinished // stopped without finishing: interrupted
                };
                let d = &mut self.p.derivations[i];
                d.end_ns = t;
                d.outcome = outcome;
            }
            Slot::Subst(i) => {
                let s = &mut self.p.substitutions[i];
                s.end_ns = t;
                s.outcome = Outcome::Built;
                self.awaiting_nar.retain(|&k| k != i);
            }
            Slot::Copy(i) => self.p.copies[i].end_ns = t,
            Slot::Transfer(i, _) => self.p.transfers[i].end_ns = t,
            Slot::Query(i) => self.p.queries[i].end_ns = t,
            Slot::SubstCopy | Slot::Builds | Slot::CopyPaths | Slot::Other => {}
        }
    }

    /// Ends the log at `end_ns` (the command's exit, or the last line for a replay). Activities
    /// still open end there, unfinished.
    pub fn finish(
        mut self,
        end_ns: Option<u64>,
        exit: Option<(Option<i32>, Option<i32>)>,
    ) -> BuildProfile {
        let end = end_ns.unwrap_or(self.last_t).max(self.last_t);
        for (_, slot) in std::mem::take(&mut self.active) {
            let unfinished = match slot {
                Slot::Build(i) => Some((true, i)),
                Slot::Subst(i) => Some((false, i)),
                _ => None,
            };
            self.stop(slot, end);
            match unfinished {
                Some((true, i)) => self.p.derivations[i].outcome = Outcome::Unfinished,
                Some((false, i)) => self.p.substitutions[i].outcome = Outcome::Unfinished,
                None => {}
            }
        }
        // Nix counts a substitution as done just after its activity stops; one interrupted
        // stops without being counted. With one CopyPaths activity (a build's), substitutions
        // beyond its count are unfinished: the last to stop, as an interrupt stops them last.
        if let (1, Some(done)) = self.copy_paths {
            let mut ok: Vec<usize> = (0..self.p.substitutions.len())
                .filter(|&i| self.p.substitutions[i].outcome == Outcome::Built)
                .collect();
            ok.sort_by_key(|&i| (self.p.substitutions[i].end_ns, i));
            let excess = ok.len().saturating_sub(done.max(0) as usize);
            for &i in &ok[ok.len() - excess..] {
                self.p.substitutions[i].outcome = Outcome::Unfinished;
            }
        }
        for d in &mut self.p.derivations {
            if self.failed_drvs.contains(&d.drv_path) {
                d.outcome = Outcome::Failed;
            }
        }
        let m = &mut self.p.meta;
        m.wall_ns = end;
        let exit = exit.or(self.exit);
        m.exit_code = exit.and_then(|e| e.0);
        let first_error = self.p.errors.first().cloned().unwrap_or_default();
        (m.status, m.reason) = match exit {
            Some((_, Some(sig))) => (Status::Interrupted, format!("killed by signal {sig}")),
            Some((Some(0), _)) => (Status::Succeeded, String::new()),
            // Nix caught SIGINT itself and exited with an error.
            _ if first_error == "interrupted by the user" => (Status::Interrupted, first_error),
            Some((Some(c), _)) => (
                Status::Failed,
                if first_error.is_empty() {
                    format!("exit status {c}")
                } else {
                    first_error
                },
            ),
            // A plain Nix log: the outcome is what the log says.
            _ if !self.p.errors.is_empty() => (Status::Failed, first_error),
            _ if self
                .p
                .derivations
                .iter()
                .any(|d| d.outcome != Outcome::Built) =>
            {
                (Status::Failed, "log ends with builds unfinished".into())
            }
            _ => (Status::Succeeded, String::new()),
        };
        self.p
    }
}

/// Evaluation ends at the first activity that realises something: Nix's "querying info about
/// missing paths" (type 0, the planning step of nix-build), a narinfo query, a substitution,
/// copy, or build. FileTransfers alone do not end it: `fetchTarball` & co. run during evaluation.
fn ends_evaluation(ty: u64, text: &str) -> bool {
    match ty {
        act::UNKNOWN => text.starts_with("querying info about missing paths"),
        act::COPY_PATH
        | act::REALISE
        | act::COPY_PATHS
        | act::BUILDS
        | act::BUILD
        | act::SUBSTITUTE
        | act::QUERY_PATH_INFO => true,
        _ => false,
    }
}

/// `… unable to download 'https://cache.nixos.org/nix-cache-info': Couldn't resolve…` → the URL.
fn failed_download(msg: &str) -> Option<&str> {
    let (_, rest) = msg.split_once("unable to download '")?;
    rest.split_once('\'').map(|(url, _)| url)
}

/// `builder for '/nix/store/…-x.drv' failed with exit code 1` → the drv path.
fn failed_builder(msg: &str) -> Option<&str> {
    let rest = msg.strip_prefix("builder for '")?;
    let (drv, tail) = rest.split_once('\'')?;
    tail.starts_with(" failed").then_some(drv)
}

pub(crate) fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\u{1b}' {
            if it.peek() == Some(&'[') {
                it.next();
                for c in it.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses a whole log (e.g. a saved file) into a profile.
pub fn ingest_text(s: &str) -> BuildProfile {
    let mut i = Ingest::new();
    i.text(s);
    i.finish(None, None)
}
