//! CPU time of each build, from `/proc`, for the `cores` simulation.
//!
//! A local build's builder is a direct child of the nix process nixperf started (Nix 2.8
//! clones it with `CLONE_PARENT` even when sandboxed); its environment names its outputs
//! (`out=…`, one variable per name in `outputs`) and the `cores` it was given
//! (`NIX_BUILD_CORES`). On every sampler tick we walk each builder's process tree
//! (`/proc/PID/task/*/children`) and sum utime + stime + cutime + cstime of the live processes
//! (exited descendants are in their parent's cutime once reaped), and count its runnable
//! threads: the CPUs it could use, which a busy machine does not lower (CPU time does).
//!
//! The tail after the last tick is recovered exactly: when nix reaps a builder, nix's own
//! cutime + cstime grows by that builder's whole total. So the growth of nix's children time
//! between two ticks is the final total of the builders that disappeared in between (split in
//! proportion to their last readings when several did). Builds shorter than a tick that were
//! never seen are counted as unattributed. Builds run by a nix daemon are not our
//! descendants: no data (the simulation then says so).

use rustc_hash::FxHashMap;
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct BuildCpu {
    /// Output paths from the builder's environment.
    pub outputs: Vec<String>,
    /// `NIX_BUILD_CORES` the build was given.
    pub cores: Option<u32>,
    pub cpu_ns: u64,
    /// Ticks at which the build's tree was seen, and at which at least one of its threads was
    /// runnable (state R), and the sum of runnable threads over the ticks.
    pub ticks: u32,
    pub active_ticks: u32,
    pub runnable_sum: u32,
}

impl BuildCpu {
    /// Average runnable threads while any was runnable: how many CPUs the build could use,
    /// whether or not it got them (unlike CPU time / wall time, which a busy machine lowers).
    pub(crate) fn demand(&self) -> Option<f64> {
        (self.active_ticks > 0).then(|| self.runnable_sum as f64 / self.active_ticks as f64)
    }
    /// Share of its wall time the build had something runnable.
    pub(crate) fn active_share(&self) -> Option<f64> {
        (self.ticks > 0).then(|| self.active_ticks as f64 / self.ticks as f64)
    }
}

#[derive(Debug)]
struct Root {
    cpu: BuildCpu,
    /// (pid, start time): a recycled pid is another process.
    starttime: u64,
    seen_this_tick: bool,
}

#[derive(Debug)]
pub(crate) struct Tracker {
    nix_pid: u32,
    tick_ns: f64,
    roots: FxHashMap<u32, Root>,
    /// Children of nix that are not builders, by (pid, start time).
    not_builders: Vec<(u32, u64)>,
    done: Vec<BuildCpu>,
    /// nix's own cutime + cstime (ns) at the previous tick.
    nix_children_ns: u64,
    pub unattributed_ns: u64,
}

/// (ppid, utime + stime, cutime + cstime, starttime) in clock ticks, from `/proc/PID/stat`.
fn stat(pid: u32) -> Option<(u32, u64, u64, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain anything: split after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    // Fields from 3 (state) on: ppid = 4, utime = 14, stime 15, cutime 16, cstime 17,
    // starttime 22 → indices 1, 11..=14, 19 here.
    let n = |i: usize| f.get(i)?.parse::<u64>().ok();
    Some((n(1)? as u32, n(11)? + n(12)?, n(13)? + n(14)?, n(19)?))
}

fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
            out.extend(
                s.split_ascii_whitespace()
                    .filter_map(|x| x.parse::<u32>().ok()),
            );
        }
    }
    out
}

/// Outputs and cores from a builder's environment.
fn environment(pid: u32) -> (Vec<String>, Option<u32>) {
    let Ok(env) = std::fs::read(Path::new("/proc").join(pid.to_string()).join("environ")) else {
        return (Vec::new(), None);
    };
    let vars: FxHashMap<&[u8], &[u8]> = env
        .split(|&b| b == 0)
        .filter_map(|kv| {
            let i = kv.iter().position(|&b| b == b'=')?;
            Some((&kv[..i], &kv[i + 1..]))
        })
        .collect();
    let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    let names: Vec<String> = match vars.get(&b"outputs"[..]) {
        Some(o) => text(o).split_whitespace().map(String::from).collect(),
        None => vec!["out".into()],
    };
    let outputs = names
        .iter()
        .filter_map(|n| vars.get(n.as_bytes()).map(|v| text(v)))
        .filter(|v| v.starts_with('/'))
        .collect();
    let cores = vars
        .get(&b"NIX_BUILD_CORES"[..])
        .and_then(|v| text(v).parse().ok());
    (outputs, cores)
}

impl Tracker {
    pub(crate) fn new(nix_pid: u32) -> Tracker {
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let mut t = Tracker {
            nix_pid,
            tick_ns: 1e9 / hz,
            roots: FxHashMap::default(),
            not_builders: Vec::new(),
            done: Vec::new(),
            nix_children_ns: 0,
            unattributed_ns: 0,
        };
        t.nix_children_ns = t.nix_children().unwrap_or(0);
        t
    }

    fn ns(&self, ticks: u64) -> u64 {
        (ticks as f64 * self.tick_ns) as u64
    }

    fn nix_children(&self) -> Option<u64> {
        stat(self.nix_pid).map(|s| self.ns(s.2))
    }

    /// CPU (ns) of the live process tree under `pid`, `pid` included, and its runnable threads.
    fn tree_cpu(&self, pid: u32, depth: u32) -> (u64, u32) {
        let Some((_, own, reaped, _)) = stat(pid) else {
            return (0, 0);
        };
        let (mut total, mut runnable) = (self.ns(own + reaped), 0);
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return (total, runnable);
        };
        for t in tasks.flatten() {
            let path = t.path();
            if let Ok(st) = std::fs::read_to_string(path.join("stat"))
                && st.rfind(')').and_then(|i| st.as_bytes().get(i + 2)) == Some(&b'R')
            {
                runnable += 1;
            }
            if depth < 64
                && let Ok(c) = std::fs::read_to_string(path.join("children"))
            {
                for c in c.split_ascii_whitespace().filter_map(|x| x.parse().ok()) {
                    let (cpu, r) = self.tree_cpu(c, depth + 1);
                    total += cpu;
                    runnable += r;
                }
            }
        }
        (total, runnable)
    }

    /// One tick. Call it while nix is alive or a zombie (not yet reaped), so its counters can
    /// still be read.
    pub(crate) fn tick(&mut self) {
        for r in self.roots.values_mut() {
            r.seen_this_tick = false;
        }
        for pid in children(self.nix_pid) {
            let Some((ppid, _, _, start)) = stat(pid) else {
                continue;
            };
            if ppid != self.nix_pid {
                continue;
            }
            if self.roots.get(&pid).is_some_and(|r| r.starttime != start) {
                let old = self.roots.remove(&pid).expect("checked");
                self.done.push(old.cpu);
            }
            if self.not_builders.contains(&(pid, start)) {
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = self.roots.entry(pid) {
                let (outputs, cores) = environment(pid);
                if outputs.is_empty() {
                    // Not a builder (a hook, a helper): do not read its environment again.
                    self.not_builders.push((pid, start));
                    continue;
                }
                e.insert(Root {
                    cpu: BuildCpu {
                        outputs,
                        cores,
                        ..Default::default()
                    },
                    starttime: start,
                    seen_this_tick: false,
                });
            }
            let (cpu, runnable) = self.tree_cpu(pid, 0);
            let r = self.roots.get_mut(&pid).expect("inserted");
            r.cpu.cpu_ns = r.cpu.cpu_ns.max(cpu);
            r.cpu.ticks += 1;
            r.cpu.active_ticks += (runnable > 0) as u32;
            r.cpu.runnable_sum += runnable;
            r.seen_this_tick = true;
        }
        let gone: Vec<u32> = self
            .roots
            .iter()
            .filter(|(_, r)| !r.seen_this_tick)
            .map(|(&p, _)| p)
            .collect();
        let now = self.nix_children().unwrap_or(self.nix_children_ns);
        let reaped = now.saturating_sub(self.nix_children_ns);
        self.nix_children_ns = now;
        let mut gone: Vec<BuildCpu> = gone
            .into_iter()
            .filter_map(|p| self.roots.remove(&p).map(|r| r.cpu))
            .collect();
        let seen: u64 = gone.iter().map(|g| g.cpu_ns).sum();
        if gone.is_empty() {
            self.unattributed_ns += reaped;
        } else {
            // Final totals: what nix reaped, shared in proportion to the last readings.
            let n = gone.len() as u64;
            for g in &mut gone {
                let share = if seen == 0 {
                    reaped / n
                } else {
                    (reaped as u128 * g.cpu_ns as u128 / seen as u128) as u64
                };
                g.cpu_ns = g.cpu_ns.max(share);
            }
        }
        self.done.extend(gone);
    }

    /// Every build seen, finished or not (a build still running when nix died keeps its last
    /// reading).
    pub(crate) fn finish(mut self) -> (Vec<BuildCpu>, u64) {
        let mut out = std::mem::take(&mut self.done);
        out.extend(self.roots.into_values().map(|r| r.cpu));
        (out, self.unattributed_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn reads_own_stat_and_a_child_tree() {
        let me = std::process::id();
        let (ppid, ..) = stat(me).unwrap();
        assert!(ppid > 0);
        // A child that burns CPU, then exits: once reaped, its time is in our cutime.
        let mut c = std::process::Command::new("/bin/sh")
            .args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"])
            .spawn()
            .unwrap();
        assert!(children(me).contains(&c.id()));
        let before = stat(me).unwrap().2;
        c.wait().unwrap();
        let after = stat(me).unwrap().2;
        assert!(after > before, "{before} {after}");
    }
}
