//! What the machine offers builds: logical CPUs (the ones this process may run on), physical
//! cores (distinct `physical id`/`core id` pairs in /proc/cpuinfo), memory.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Hardware {
    pub logical_cpus: usize,
    pub physical_cores: usize,
    pub mem_total: u64,
    pub mem_available: u64,
}

impl Hardware {
    pub(crate) fn probe() -> Hardware {
        let logical = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let physical = physical_cores(&cpuinfo)
            .unwrap_or(logical)
            .min(logical)
            .max(1);
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Hardware {
            logical_cpus: logical,
            physical_cores: physical,
            mem_total: meminfo_kib(&meminfo, "MemTotal:").unwrap_or(0) * 1024,
            mem_available: meminfo_kib(&meminfo, "MemAvailable:").unwrap_or(0) * 1024,
        }
    }
}

pub(crate) fn physical_cores(cpuinfo: &str) -> Option<usize> {
    let mut set = std::collections::HashSet::new();
    let (mut phys, mut core) = (None, None);
    for line in cpuinfo.lines().chain(std::iter::once("")) {
        if line.trim().is_empty() {
            if let (Some(p), Some(c)) = (phys.take(), core.take()) {
                set.insert((p, c));
            }
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        match k.trim() {
            "physical id" => phys = Some(v.trim().to_owned()),
            "core id" => core = Some(v.trim().to_owned()),
            _ => {}
        }
    }
    (!set.is_empty()).then_some(set.len())
}

fn meminfo_kib(s: &str, key: &str) -> Option<u64> {
    s.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_physical_cores_once_per_core_id() {
        // Two hyperthreads on each of two cores.
        let s = "processor: 0\nphysical id: 0\ncore id: 0\n\nprocessor: 1\nphysical id: 0\ncore id: 1\n\n\
processor: 2\nphysical id: 0\ncore id: 0\n\nprocessor: 3\nphysical id: 0\ncore id: 1\n";
        assert_eq!(super::physical_cores(s), Some(2));
        assert_eq!(super::physical_cores("processor: 0\n"), None);
    }
}
