//! CPU, memory, disk and network sampled from `/proc` while the build runs, on a thread that
//! wakes 4 times a second (four small file reads: its own CPU time is measured and reported).

use super::buildcpu::{BuildCpu, Tracker};
use super::model::{BuildProfile, Sample};
use serde::Serialize;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub(crate) const PERIOD: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Default, PartialEq)]
struct Counters {
    /// (busy, total) jiffies per CPU.
    cpu: Vec<(u64, u64)>,
    mem_total: u64,
    mem_used: u64,
    swap_used: u64,
    disk_read: u64,
    disk_written: u64,
    net_rx: u64,
    net_tx: u64,
}

fn read_counters() -> Counters {
    let mut c = Counters::default();
    let file = |p| std::fs::read_to_string(p).unwrap_or_default();
    for l in file("/proc/stat").lines() {
        let Some(rest) = l.strip_prefix("cpu") else {
            break;
        };
        if rest.starts_with(' ') {
            continue; // the aggregate line; per-CPU lines follow
        }
        let v: Vec<u64> = rest
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal (guest time is inside user).
        let total: u64 = v.iter().take(8).sum();
        let idle = v.get(3).unwrap_or(&0) + v.get(4).unwrap_or(&0);
        c.cpu.push((total - idle.min(total), total));
    }
    let (mut avail, mut swap_total, mut swap_free) = (0, 0, 0);
    for l in file("/proc/meminfo").lines() {
        let mut it = l.split_whitespace();
        let (Some(k), Some(v)) = (it.next(), it.next().and_then(|v| v.parse::<u64>().ok())) else {
            continue;
        };
        match k {
            "MemTotal:" => c.mem_total = v * 1024,
            "MemAvailable:" => avail = v * 1024,
            "SwapTotal:" => swap_total = v * 1024,
            "SwapFree:" => swap_free = v * 1024,
            _ => {}
        }
    }
    c.mem_used = c.mem_total.saturating_sub(avail);
    c.swap_used = swap_total.saturating_sub(swap_free);
    for l in file("/proc/diskstats").lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        // Whole devices only (partitions would count twice), no loop/ram devices.
        if f.len() < 10
            || f[2].starts_with("loop")
            || f[2].starts_with("ram")
            || !std::path::Path::new("/sys/block").join(f[2]).exists()
        {
            continue;
        }
        c.disk_read += f[5].parse::<u64>().unwrap_or(0) * 512;
        c.disk_written += f[9].parse::<u64>().unwrap_or(0) * 512;
    }
    for l in file("/proc/net/dev").lines().skip(2) {
        let Some((iface, rest)) = l.split_once(':') else {
            continue;
        };
        if iface.trim() == "lo" {
            continue;
        }
        let v: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        c.net_rx += v.first().copied().unwrap_or(0);
        c.net_tx += v.get(8).copied().unwrap_or(0);
    }
    c
}

fn delta(prev: &Counters, cur: &Counters, t_ns: u64) -> Sample {
    Sample {
        t_ns,
        cpu: cur
            .cpu
            .iter()
            .zip(&prev.cpu)
            .map(|(&(b1, t1), &(b0, t0))| {
                let dt = t1.saturating_sub(t0);
                if dt == 0 {
                    0.0
                } else {
                    b1.saturating_sub(b0) as f32 / dt as f32
                }
            })
            .collect(),
        mem_used: cur.mem_used,
        swap_used: cur.swap_used,
        disk_read: cur.disk_read.saturating_sub(prev.disk_read),
        disk_written: cur.disk_written.saturating_sub(prev.disk_written),
        net_rx: cur.net_rx.saturating_sub(prev.net_rx),
        net_tx: cur.net_tx.saturating_sub(prev.net_tx),
    }
}

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out pointer; CLOCK_THREAD_CPUTIME_ID always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

pub(crate) struct Sampler {
    stop: mpsc::Sender<()>,
    handle: JoinHandle<Sampled>,
}

/// What the sampler thread collected.
#[derive(Debug, Default)]
pub(crate) struct Sampled {
    pub samples: Vec<Sample>,
    /// The sampler thread's own CPU time.
    pub cpu_ns: u64,
    /// Per-build CPU (see `buildcpu`), empty without a nix pid.
    pub builds: Vec<BuildCpu>,
    pub unattributed_cpu_ns: u64,
}

impl Sampler {
    /// Starts sampling; sample times are ns since `t0` (the command's start). With `nix_pid`,
    /// also tracks the CPU time of each build that process runs.
    pub(crate) fn start(t0: Instant, nix_pid: Option<u32>) -> Sampler {
        let (stop, rx) = mpsc::channel::<()>();
        let handle = std::thread::spawn(move || {
            let mut prev = read_counters();
            let mut out = Vec::new();
            let mut builds = nix_pid.map(Tracker::new);
            loop {
                let done = !matches!(
                    rx.recv_timeout(PERIOD),
                    Err(mpsc::RecvTimeoutError::Timeout)
                );
                let cur = read_counters();
                out.push(delta(&prev, &cur, t0.elapsed().as_nanos() as u64));
                prev = cur;
                if let Some(b) = &mut builds {
                    b.tick();
                }
                if done {
                    let (builds, unattributed_cpu_ns) =
                        builds.map(Tracker::finish).unwrap_or_default();
                    return Sampled {
                        samples: out,
                        cpu_ns: thread_cpu_ns(),
                        builds,
                        unattributed_cpu_ns,
                    };
                }
            }
        });
        Sampler { stop, handle }
    }

    /// Stops (taking one last sample) and returns what was collected. Call it before the nix
    /// process is reaped, so the last tick still reads its counters.
    pub(crate) fn finish(self) -> Sampled {
        let _ = self.stop.send(());
        self.handle.join().unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ResourceSummary {
    pub samples: usize,
    pub cpus: usize,
    /// Whole-machine busy share (0..1), average and peak over samples.
    pub cpu_avg: f64,
    pub cpu_peak: f64,
    pub cpu_per_core_avg: Vec<f64>,
    pub mem_used_avg: u64,
    pub mem_used_peak: u64,
    pub swap_used_peak: u64,
    pub disk_read_bytes: u64,
    pub disk_written_bytes: u64,
    pub net_rx_bytes: u64,
    pub net_tx_bytes: u64,
    /// Sampler CPU time / wall time.
    pub sampler_cpu_share: f64,
}

pub(crate) fn summarize(p: &BuildProfile) -> Option<ResourceSummary> {
    let s = &p.samples;
    if s.is_empty() {
        return None;
    }
    let cpus = s.iter().map(|x| x.cpu.len()).max().unwrap_or(0);
    let machine = |x: &Sample| {
        if x.cpu.is_empty() {
            0.0
        } else {
            x.cpu.iter().map(|&c| c as f64).sum::<f64>() / x.cpu.len() as f64
        }
    };
    let n = s.len() as f64;
    Some(ResourceSummary {
        samples: s.len(),
        cpus,
        cpu_avg: s.iter().map(machine).sum::<f64>() / n,
        cpu_peak: s.iter().map(machine).fold(0.0, f64::max),
        cpu_per_core_avg: (0..cpus)
            .map(|c| {
                s.iter()
                    .map(|x| *x.cpu.get(c).unwrap_or(&0.0) as f64)
                    .sum::<f64>()
                    / n
            })
            .collect(),
        mem_used_avg: (s.iter().map(|x| x.mem_used as f64).sum::<f64>() / n) as u64,
        mem_used_peak: s.iter().map(|x| x.mem_used).max().unwrap_or(0),
        swap_used_peak: s.iter().map(|x| x.swap_used).max().unwrap_or(0),
        disk_read_bytes: s.iter().map(|x| x.disk_read).sum(),
        disk_written_bytes: s.iter().map(|x| x.disk_written).sum(),
        net_rx_bytes: s.iter().map(|x| x.net_rx).sum(),
        net_tx_bytes: s.iter().map(|x| x.net_tx).sum(),
        sampler_cpu_share: if p.meta.wall_ns == 0 {
            0.0
        } else {
            p.sampler_cpu_ns as f64 / p.meta.wall_ns as f64
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn proc_counters_are_readable_and_monotonic() {
        let a = read_counters();
        let mut x = 0u64;
        for i in 0..3_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let b = read_counters();
        assert!(!a.cpu.is_empty() && a.mem_total > 0);
        let s = delta(&a, &b, 1);
        assert_eq!(s.cpu.len(), a.cpu.len());
        assert!(s.cpu.iter().all(|&c| (0.0..=1.0).contains(&c)));
    }
}
