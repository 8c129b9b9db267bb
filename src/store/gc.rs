//! Liveness as Nix 2.8's collector decides it, and what each cleanup command deletes.
//!
//! A path is alive when it is in the closure of a root, where the closure follows references,
//! plus the deriver of a path when `keep-derivations` is set and plus the outputs of a
//! derivation when `keep-outputs` is set (`computeFSClosure(…, keepOutputs, keepDerivations)`
//! in `LocalStore::collectGarbage`). Everything else valid is deleted by `nix-store --gc`.

use super::db::StoreGraph;
use super::roots::{Root, RootKind};
use std::path::Path;

#[derive(Debug, Clone, Copy)]
pub(crate) struct GcSettings {
    pub keep_derivations: bool,
    pub keep_outputs: bool,
}

impl Default for GcSettings {
    /// Nix's defaults.
    fn default() -> Self {
        GcSettings {
            keep_derivations: true,
            keep_outputs: false,
        }
    }
}

impl GcSettings {
    /// The GC settings of nix's effective configuration (Nix's defaults where it says nothing).
    pub(crate) fn of(n: &crate::config::NixSettings) -> GcSettings {
        let d = GcSettings::default();
        GcSettings {
            keep_derivations: n.bool("keep-derivations").unwrap_or(d.keep_derivations),
            keep_outputs: n.bool("keep-outputs").unwrap_or(d.keep_outputs),
        }
    }
}

/// Repeated closures over one graph without clearing a visited array each time.
pub(crate) struct Walker<'a> {
    g: &'a StoreGraph,
    s: GcSettings,
    mark: Vec<u32>,
    stamp: u32,
    stack: Vec<u32>,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(g: &'a StoreGraph, s: GcSettings) -> Self {
        Walker {
            g,
            s,
            mark: vec![0; g.len()],
            stamp: 0,
            stack: Vec::new(),
        }
    }

    /// Calls `f` once for every path in the closure of `starts`.
    pub(crate) fn closure(
        &mut self,
        starts: impl IntoIterator<Item = u32>,
        mut f: impl FnMut(u32),
    ) {
        self.stamp += 1;
        let st = self.stamp;
        for s in starts {
            if self.mark[s as usize] != st {
                self.mark[s as usize] = st;
                self.stack.push(s);
            }
        }
        while let Some(v) = self.stack.pop() {
            f(v);
            let g = self.g;
            let deriver = if self.s.keep_derivations {
                g.deriver[v as usize]
            } else {
                None
            };
            let outs: &[u32] = if self.s.keep_outputs && g.is_drv(v) {
                g.outputs(v)
            } else {
                &[]
            };
            for &w in g.references(v).iter().chain(deriver.iter()).chain(outs) {
                if self.mark[w as usize] != st {
                    self.mark[w as usize] = st;
                    self.stack.push(w);
                }
            }
        }
    }

    /// Alive flags for the given roots.
    pub(crate) fn alive(&mut self, roots: impl IntoIterator<Item = u32>) -> Vec<bool> {
        let mut a = vec![false; self.g.len()];
        self.closure(roots, |v| a[v as usize] = true);
        a
    }
}

/// Generations that `nix-collect-garbage --delete-older-than <days>d` removes (indices into
/// `roots`): for each profile under `<state>/profiles`, walking from the newest generation down,
/// the first one created before the cutoff is kept (it was current then), all older ones go,
/// except the current generation (`deleteGenerationsOlderThan`).
pub(crate) fn older_than(roots: &[Root], profiles_dir: &Path, now: i64, days: u32) -> Vec<usize> {
    let cutoff = now - days as i64 * 24 * 3600;
    per_profile(roots, profiles_dir, |gens| {
        let mut out = Vec::new();
        let mut can_delete = false;
        for &(number, current, created) in gens.iter().rev() {
            if can_delete {
                if !current {
                    out.push(number);
                }
            } else if created < cutoff {
                can_delete = true;
            }
        }
        out
    })
}

/// Generations that `nix-collect-garbage -d` removes: every non-current one.
pub(crate) fn all_old(roots: &[Root], profiles_dir: &Path) -> Vec<usize> {
    per_profile(roots, profiles_dir, |gens| {
        gens.iter().filter(|g| !g.1).map(|g| g.0).collect()
    })
}

/// For each profile nix-collect-garbage visits (under `<state>/profiles`) and that holds a
/// root: its generations as Nix's `findGenerations` sees them (every `<name>-<N>-link` in the
/// directory, dated by the link's mtime, including ones whose target is gone), sorted by
/// number; `pick` returns the numbers to delete; the result is the matching root indices.
fn per_profile(
    roots: &[Root],
    profiles_dir: &Path,
    pick: impl Fn(&[(u64, bool, i64)]) -> Vec<u64>,
) -> Vec<usize> {
    type Gens = Vec<(u64, bool, i64)>;
    let mut by_profile: std::collections::BTreeMap<&Path, Gens> = Default::default();
    for r in roots {
        if let RootKind::Generation {
            profile,
            number,
            current,
            created,
        } = &r.kind
            && profile.starts_with(profiles_dir)
            && r.link.starts_with(profiles_dir)
        {
            by_profile
                .entry(profile.as_path())
                .or_default()
                .push((*number, *current, *created));
        }
    }
    let mut out = Vec::new();
    for (profile, from_roots) in by_profile {
        let mut gens = list_generations(profile).unwrap_or(from_roots);
        gens.sort_by_key(|g| g.0);
        gens.dedup_by_key(|g| g.0);
        let delete: std::collections::HashSet<u64> = pick(&gens).into_iter().collect();
        for (i, r) in roots.iter().enumerate() {
            if let RootKind::Generation {
                profile: p, number, ..
            } = &r.kind
                && p.as_path() == profile
                && delete.contains(number)
            {
                out.push(i);
            }
        }
    }
    out.sort_unstable();
    out
}

/// `(number, current, mtime)` of `<profile>-<N>-link` symlinks beside `profile`.
fn list_generations(profile: &Path) -> Option<Vec<(u64, bool, i64)>> {
    use std::os::unix::fs::MetadataExt;
    let dir = profile.parent()?;
    let name = profile.file_name()?.to_str()?;
    let current = std::fs::read_link(profile).ok()?;
    let current = current.file_name()?.to_str()?.to_owned();
    let mut gens = Vec::new();
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let f = e.file_name();
        let Some(f) = f.to_str() else { continue };
        let Some(num) = f
            .strip_prefix(name)
            .and_then(|r| r.strip_prefix('-'))
            .and_then(|r| r.strip_suffix("-link"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let Ok(m) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        if m.file_type().is_symlink() {
            gens.push((num, f == current, m.mtime()));
        }
    }
    (!gens.is_empty()).then_some(gens)
}
