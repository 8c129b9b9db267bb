//! The store breakdown: roots grouped (each profile generation, each `result` link, other
//! gcroots, runtime), what each group keeps alive and alone keeps alive, the exclusive split
//! current / runtime / old generations / result-only / dead, and the exact effect of each
//! cleanup command.

use super::db::StoreGraph;
use super::files::{self, Freed, Inodes, PathFiles};
use super::gc::{self, GcSettings, Walker};
use super::optimise::{self, OptimiseEstimate};
use super::roots::{self, Root, RootKind};
use super::{StoreError, StoreLocation};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Dedup {
    /// Hash every file not yet in `.links` (exact).
    Full,
    /// Hash one path in ten and scale (an estimate, said so in the output).
    Quick,
    /// Skip the `nix-store --optimise` estimate.
    Off,
}

#[derive(Debug, Clone)]
pub(crate) struct StoreOptions {
    pub gc: GcSettings,
    /// `--delete-older-than <days>d`.
    pub older_than_days: u32,
    pub now: i64,
    pub runtime_roots: bool,
    /// Walk the files of the paths a command deletes (disk and Nix-reported bytes).
    pub files: bool,
    pub dedup: Dedup,
    /// Bytes `--dedup full` hashes at most before it scales from the paths done.
    pub dedup_limit: u64,
    pub top: usize,
    pub progress: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct GenerationRow {
    pub profile: PathBuf,
    pub number: u64,
    pub current: bool,
    pub created: i64,
    pub age_days: f64,
    pub closure_paths: u64,
    pub closure_nar: u64,
    /// What deleting just this generation frees (NAR bytes), all other roots kept.
    pub unique_nar: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ResultRow {
    pub link: PathBuf,
    pub target: String,
    pub closure_nar: u64,
    pub unique_nar: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Category {
    pub name: &'static str,
    pub paths: u64,
    pub nar: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct CommandEffect {
    pub command: String,
    pub generations_removed: usize,
    /// Store paths deleted (valid ones plus stray entries of the store directory), the number
    /// Nix prints.
    pub paths_deleted: u64,
    /// Sum of `narSize` of the valid paths deleted (from the DB).
    pub nar_bytes: u64,
    /// Filled when the files were walked.
    pub freed: Option<Freed>,
}

impl CommandEffect {
    /// Bytes the command gives back: measured on disk when the files were walked, else the
    /// `narSize` sum of what it deletes (an upper bound: hard links and .links are not known).
    pub(crate) fn bytes_freed(&self) -> u64 {
        self.freed.map(|f| f.disk).unwrap_or(self.nar_bytes)
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct StoreReport {
    pub store_dir: String,
    pub db: PathBuf,
    pub paths: u64,
    pub nar_total: u64,
    pub keep_derivations: bool,
    pub keep_outputs: bool,
    /// The exclusive split: current / runtime / old generations / result links / dead.
    pub breakdown: Vec<Category>,
    /// "old generations only" split by the age of the newest generation keeping each path.
    pub old_by_age: Vec<Category>,
    pub generations: Vec<GenerationRow>,
    pub results: Vec<ResultRow>,
    pub other_roots: Vec<Root>,
    pub runtime_roots: u64,
    pub commands: Vec<CommandEffect>,
    pub optimise: Option<OptimiseEstimate>,
    pub stray_entries: u64,
    pub dead_top: Vec<(String, u64)>,
    /// NAR bytes registered in the last 7 days (store growth).
    pub registered_last_week: u64,
    pub fs_size: Option<u64>,
    pub fs_free: Option<u64>,
    pub older_than_days: u32,
    /// Time to read the DB snapshot (set by the caller that read it).
    pub db_read_ms: f64,
    pub analysis_ms: f64,
}

const CUR: u8 = 1;
const RUN: u8 = 2;
const OLD: u8 = 4;
const RES: u8 = 8;

/// The store report: its steps are the report's parts.
pub(crate) fn analyse(
    loc: &StoreLocation,
    g: &StoreGraph,
    o: &StoreOptions,
) -> Result<StoreReport, StoreError> {
    let t0 = std::time::Instant::now();
    let roots = roots::find(loc, g, o.runtime_roots);
    let mut w = Walker::new(g, o.gc);
    let groups = root_groups(&roots);
    let reach = reach(&mut w, g, &roots, &groups);
    let (breakdown, old_by_age) = exclusive_split(g, &reach, o.now);
    let (generations, results) = group_rows(&roots, &groups, &reach, o.now);
    let plans = cleanup_plans(&mut w, loc, g.len(), &roots, o);
    let stray = if o.files {
        files::stray_entries(loc, &g.index)
    } else {
        Vec::new()
    };
    let commands = command_effects(loc, g, &plans, &stray, o)?;
    let optimise = optimise_estimate(loc, g, o)?;
    let dead_top = largest_dead(g, &plans[0], o.top);
    let registered_last_week = registered_since(g, o.now - 7 * 86400);
    let (fs_size, fs_free) = statvfs(&loc.real_store_dir);
    let other_roots = roots
        .iter()
        .filter(|r| r.kind == RootKind::GcRoot)
        .cloned()
        .collect();
    Ok(StoreReport {
        store_dir: loc.store_dir.clone(),
        db: loc.db.clone(),
        paths: g.len() as u64,
        nar_total: g.total_nar(),
        keep_derivations: o.gc.keep_derivations,
        keep_outputs: o.gc.keep_outputs,
        breakdown,
        old_by_age,
        generations,
        results,
        other_roots,
        runtime_roots: roots.iter().filter(|r| r.kind == RootKind::Runtime).count() as u64,
        commands,
        optimise,
        stray_entries: stray.len() as u64,
        dead_top,
        registered_last_week,
        fs_size,
        fs_free,
        older_than_days: o.older_than_days,
        db_read_ms: 0.0,
        analysis_ms: t0.elapsed().as_secs_f64() * 1e3,
    })
}

/// A set of roots measured together: its flag (`CUR`, `RUN`, `OLD`, `RES`), its root paths,
/// and the root it stands for when it is one generation or one result link.
struct RootGroup {
    flag: u8,
    starts: Vec<u32>,
    root: Option<usize>,
}

/// Root groups: one per generation and per result link; other gcroots and runtime roots as
/// one group each (their unique sizes are not reported one by one).
fn root_groups(roots: &[Root]) -> Vec<RootGroup> {
    let mut groups = Vec::new();
    let mut other = Vec::new();
    let mut runtime = Vec::new();
    for (i, r) in roots.iter().enumerate() {
        let one = |flag| RootGroup {
            flag,
            starts: vec![r.index],
            root: Some(i),
        };
        match &r.kind {
            RootKind::Generation { current, .. } => {
                groups.push(one(if *current { CUR } else { OLD }))
            }
            RootKind::Result { .. } => groups.push(one(RES)),
            RootKind::GcRoot => other.push(r.index),
            RootKind::Runtime => runtime.push(r.index),
        }
    }
    groups.push(RootGroup {
        flag: CUR,
        starts: other,
        root: None,
    });
    groups.push(RootGroup {
        flag: RUN,
        starts: runtime,
        root: None,
    });
    groups
}

/// What the root groups keep alive, per path and per group.
struct Reach {
    /// Per path: the flags of the groups reaching it.
    flags: Vec<u8>,
    /// Per path: creation time of the newest old generation reaching it (for the age split).
    newest_old: Vec<i64>,
    /// Per group: closure paths and NAR bytes.
    closure: Vec<(u64, u64)>,
    /// Per group: NAR bytes only it keeps alive.
    unique: Vec<u64>,
}

/// Each group's closure: what it keeps alive, and alone keeps alive.
fn reach(w: &mut Walker, g: &StoreGraph, roots: &[Root], groups: &[RootGroup]) -> Reach {
    let n = g.len();
    let mut flags = vec![0u8; n];
    let mut count = vec![0u32; n];
    let mut last = vec![u32::MAX; n];
    let mut closure = vec![(0u64, 0u64); groups.len()];
    let mut newest_old = vec![i64::MIN; n];
    for (gi, group) in groups.iter().enumerate() {
        let (mut paths, mut nar) = (0u64, 0u64);
        let created = match group.root.map(|i| &roots[i].kind) {
            Some(RootKind::Generation { created, .. }) if group.flag == OLD => *created,
            _ => i64::MIN,
        };
        w.closure(group.starts.iter().copied(), |v| {
            let v = v as usize;
            flags[v] |= group.flag;
            newest_old[v] = newest_old[v].max(created);
            count[v] += 1;
            last[v] = gi as u32;
            paths += 1;
            nar += g.nar_size[v];
        });
        closure[gi] = (paths, nar);
    }
    let mut unique = vec![0u64; groups.len()];
    for v in 0..n {
        if count[v] == 1 {
            unique[last[v] as usize] += g.nar_size[v];
        }
    }
    Reach {
        flags,
        newest_old,
        closure,
        unique,
    }
}

/// The exclusive split current / runtime / old generations / result links / dead, and the
/// old-generation-only paths by the age of the newest generation keeping them.
fn exclusive_split(g: &StoreGraph, reach: &Reach, now: i64) -> (Vec<Category>, Vec<Category>) {
    let mut cats = [
        ("current generations and other roots", 0u64, 0u64),
        ("running processes only", 0, 0),
        ("old generations only", 0, 0),
        ("result links only", 0, 0),
        ("dead (no root)", 0, 0),
    ];
    let mut ages = [
        ("old generations only, newest ≤ 7 days old", 0u64, 0u64),
        ("old generations only, newest 7-30 days old", 0, 0),
        ("old generations only, newest 30-90 days old", 0, 0),
        ("old generations only, newest > 90 days old", 0, 0),
    ];
    for v in 0..g.len() {
        let f = reach.flags[v];
        let c = if f & CUR != 0 {
            0
        } else if f & RUN != 0 {
            1
        } else if f & OLD != 0 {
            2
        } else if f & RES != 0 {
            3
        } else {
            4
        };
        cats[c].1 += 1;
        cats[c].2 += g.nar_size[v];
        if c == 2 {
            let days = (now - reach.newest_old[v]) as f64 / 86400.0;
            let b = if days <= 7.0 {
                0
            } else if days <= 30.0 {
                1
            } else if days <= 90.0 {
                2
            } else {
                3
            };
            ages[b].1 += 1;
            ages[b].2 += g.nar_size[v];
        }
    }
    let rows = |cs: &[(&'static str, u64, u64)]| -> Vec<Category> {
        cs.iter()
            .map(|c| Category {
                name: c.0,
                paths: c.1,
                nar: c.2,
            })
            .collect()
    };
    (rows(&cats), rows(&ages))
}

/// One row per generation (by profile and number) and per result link (largest unique first).
fn group_rows(
    roots: &[Root],
    groups: &[RootGroup],
    reach: &Reach,
    now: i64,
) -> (Vec<GenerationRow>, Vec<ResultRow>) {
    let mut generations = Vec::new();
    let mut results = Vec::new();
    for (gi, group) in groups.iter().enumerate() {
        let Some(ri) = group.root else { continue };
        let r = &roots[ri];
        match &r.kind {
            RootKind::Generation {
                profile,
                number,
                current,
                created,
            } => generations.push(GenerationRow {
                profile: profile.clone(),
                number: *number,
                current: *current,
                created: *created,
                age_days: (now - created) as f64 / 86400.0,
                closure_paths: reach.closure[gi].0,
                closure_nar: reach.closure[gi].1,
                unique_nar: reach.unique[gi],
            }),
            RootKind::Result { .. } => results.push(ResultRow {
                link: r.link.clone(),
                target: r.target.clone(),
                closure_nar: reach.closure[gi].1,
                unique_nar: reach.unique[gi],
            }),
            _ => {}
        }
    }
    generations.sort_by(|a, b| a.profile.cmp(&b.profile).then(a.number.cmp(&b.number)));
    results.sort_by(|a, b| b.unique_nar.cmp(&a.unique_nar).then(a.link.cmp(&b.link)));
    (generations, results)
}

/// A cleanup command and the valid paths it deletes.
struct Plan {
    command: String,
    generations_removed: usize,
    dead: Vec<u32>,
}

/// The commands (`nix-store --gc` first): which valid paths each deletes.
fn cleanup_plans(
    w: &mut Walker,
    loc: &StoreLocation,
    n: usize,
    roots: &[Root],
    o: &StoreOptions,
) -> Vec<Plan> {
    let profiles_dir = loc.state_dir.join("profiles");
    let all: Vec<u32> = roots.iter().map(|r| r.index).collect();
    let alive = w.alive(all.iter().copied());
    let dead_of =
        |alive: &[bool]| -> Vec<u32> { (0..n as u32).filter(|&v| !alive[v as usize]).collect() };
    let mut plans: Vec<Plan> = Vec::new();
    for (command, removed) in [
        (
            format!(
                "nix-collect-garbage --delete-older-than {}d",
                o.older_than_days
            ),
            gc::older_than(roots, &profiles_dir, o.now, o.older_than_days),
        ),
        (
            "nix-collect-garbage -d".to_owned(),
            gc::all_old(roots, &profiles_dir),
        ),
    ] {
        let removed_set: std::collections::HashSet<usize> = removed.iter().copied().collect();
        let keep = roots
            .iter()
            .enumerate()
            .filter(|(i, _)| !removed_set.contains(i))
            .map(|(_, r)| r.index);
        let a = w.alive(keep);
        plans.push(Plan {
            command,
            generations_removed: removed.len(),
            dead: dead_of(&a),
        });
    }
    plans.insert(
        0,
        Plan {
            command: "nix-store --gc".to_owned(),
            generations_removed: 0,
            dead: dead_of(&alive),
        },
    );
    plans
}

/// What each command deletes: paths and NAR bytes, and with `o.files` the bytes freed on disk
/// (the files of the deleted paths and of the stray entries walked).
fn command_effects(
    loc: &StoreLocation,
    g: &StoreGraph,
    plans: &[Plan],
    stray: &[String],
    o: &StoreOptions,
) -> Result<Vec<CommandEffect>, StoreError> {
    let nar_bytes = |dead: &[u32]| dead.iter().map(|&v| g.nar_size[v as usize]).sum();
    if !o.files {
        return Ok(plans
            .iter()
            .map(|p| CommandEffect {
                command: p.command.clone(),
                generations_removed: p.generations_removed,
                paths_deleted: p.dead.len() as u64,
                nar_bytes: nar_bytes(&p.dead),
                freed: None,
            })
            .collect());
    }
    let mut inodes = Inodes::default();
    let mut walked: FxHashMap<u32, PathFiles> = FxHashMap::default();
    let mut stray_files = Vec::new();
    for s in stray {
        stray_files.push(inodes.walk(&loc.real_store_dir.join(s))?);
    }
    // The largest plan (`-d`) contains the others' paths in practice; size the bar by it.
    let most = plans.iter().map(|p| p.dead.len()).max().unwrap_or(0) as u64;
    let bar = (o.progress && most > 1000).then(|| {
        let b = indicatif::ProgressBar::new(most);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "walking files of deletable paths {bar:30} {pos}/{len}",
            )
            .unwrap(),
        );
        b
    });
    for p in plans {
        for &v in &p.dead {
            if let std::collections::hash_map::Entry::Vacant(e) = walked.entry(v) {
                e.insert(inodes.walk(&loc.real_store_dir.join(&g.names[v as usize]))?);
                if let Some(b) = &bar {
                    b.inc(1);
                }
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let (links, unused_links) = files::links_inodes(loc);
    Ok(plans
        .iter()
        .map(|p| {
            let mut f = files::freed(
                &inodes,
                p.dead.iter().map(|v| &walked[v]).chain(stray_files.iter()),
                &links,
            );
            f.disk += unused_links;
            CommandEffect {
                command: p.command.clone(),
                generations_removed: p.generations_removed,
                paths_deleted: (p.dead.len() + stray.len()) as u64,
                nar_bytes: nar_bytes(&p.dead),
                freed: Some(f),
            }
        })
        .collect())
}

/// What `nix-store --optimise` would save, unless `--dedup off`.
fn optimise_estimate(
    loc: &StoreLocation,
    g: &StoreGraph,
    o: &StoreOptions,
) -> Result<Option<OptimiseEstimate>, StoreError> {
    if o.dedup == Dedup::Off {
        return Ok(None);
    }
    let every = if o.dedup == Dedup::Quick { 10 } else { 1 };
    let bar = o.progress.then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "hashing files for --optimise {bar:30} {pos}/{len} paths",
            )
            .unwrap(),
        );
        b
    });
    let e = optimise::estimate(loc, g, every, o.dedup_limit, |d, t| {
        if let Some(b) = &bar {
            b.set_length(t);
            b.set_position(d);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(Some(e))
}

/// The largest paths `nix-store --gc` deletes, at most `top`.
fn largest_dead(g: &StoreGraph, gc: &Plan, top: usize) -> Vec<(String, u64)> {
    let mut dead_top: Vec<(String, u64)> = gc
        .dead
        .iter()
        .map(|&v| (g.names[v as usize].clone(), g.nar_size[v as usize]))
        .collect();
    dead_top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    dead_top.truncate(top);
    dead_top
}

/// NAR bytes registered since `since` (unix seconds): the store's growth.
fn registered_since(g: &StoreGraph, since: i64) -> u64 {
    (0..g.len())
        .filter(|&v| g.registered[v] >= since)
        .map(|v| g.nar_size[v])
        .sum()
}

fn statvfs(p: &std::path::Path) -> (Option<u64>, Option<u64>) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else {
        return (None, None);
    };
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid C string and out-pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return (None, None);
    }
    let f = s.f_frsize as u64;
    (Some(s.f_blocks as u64 * f), Some(s.f_bavail as u64 * f))
}
