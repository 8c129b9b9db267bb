//! Probing substituters: one `nix-cache-info`, a few timed repeats of it (latency), one
//! `.narinfo` per closure path (hit rate, signatures), then a bounded sample of NARs
//! (throughput). Narinfo queries run on a few threads, as Nix's own queries do.

use super::http::{Client, Fetch};
use super::narinfo::{self, CacheInfo, NarInfo};
use super::sig::{self, SigStatus, TrustedKeys};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub(crate) struct ProbeOptions {
    /// Per request.
    pub timeout: Duration,
    /// For the whole probe (every cache): what is not queried by then is counted as such.
    pub deadline: Duration,
    pub latency_samples: usize,
    /// Concurrent narinfo requests per cache; 0: scale with the closure (see `threads_for`).
    pub threads: usize,
    /// NARs fetched for throughput, and the byte budget over all of them.
    pub nar_samples: usize,
    pub nar_bytes: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct CacheProbe {
    pub url: String,
    /// Position in the configured list.
    pub position: usize,
    pub reachable: bool,
    pub error: Option<String>,
    pub info: Option<CacheInfo>,
    /// `?priority=` in the URL overrides nix-cache-info's.
    pub priority: u64,
    pub latency_ms: Option<f64>,
    pub queried: u64,
    pub hits: u64,
    pub misses: u64,
    pub failures: u64,
    pub timeouts: u64,
    /// Closure paths not queried: the overall deadline passed, or the cache hung (every one of
    /// its first requests timed out).
    pub unqueried: u64,
    /// Why querying stopped early, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    pub hit_rate: f64,
    /// Signature status of the narinfos found.
    pub trusted: u64,
    pub untrusted_key: u64,
    pub bad_signature: u64,
    pub unsigned: u64,
    /// Key names seen in signatures → paths signed.
    pub key_names: BTreeMap<String, u64>,
    pub nar_fetched: u64,
    pub nar_bytes: u64,
    pub nar_secs: f64,
    pub nar_failures: u64,
    pub throughput_bps: Option<f64>,
    /// NAR bytes (uncompressed) of the closure this cache holds.
    pub nar_size_hit: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Finding {
    pub severity: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct CacheReport {
    pub closure_paths: u64,
    pub store_dir: String,
    pub trusted_keys: Vec<String>,
    pub substituters: Vec<CacheProbe>,
    pub findings: Vec<Finding>,
    pub recommended_order: Vec<String>,
    /// Per-substituter numbers from a recorded build (`--profile`), as nix logged them.
    pub observed: Vec<crate::build::report::SubstituterRow>,
}

fn base_url(url: &str) -> (String, Option<u64>) {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let prio = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("priority="))
        .and_then(|v| v.parse().ok());
    (base.trim_end_matches('/').to_owned(), prio)
}

/// Concurrency for a closure of `n` paths: one request per 8 paths, at least 8, at most 64
/// (a 2 000-path closure against a cache that answers in 200 ms: ~6 s instead of ~50 s).
pub(crate) fn threads_for(n: usize, asked: usize) -> usize {
    if asked > 0 {
        asked
    } else {
        n.div_ceil(8).clamp(8, 64)
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    Some(v[v.len() / 2])
}

/// What every cache of one probe shares.
#[derive(Clone, Copy)]
struct Probing<'a> {
    client: &'a Client,
    keys: &'a TrustedKeys,
    o: &'a ProbeOptions,
    deadline: Instant,
}

/// `paths`: full store paths of the closure.
fn probe_one(
    s: Probing,
    url: &str,
    position: usize,
    paths: &[String],
    store_dir: &str,
) -> CacheProbe {
    let Probing {
        client,
        keys,
        o,
        deadline,
    } = s;
    let (base, url_prio) = base_url(url);
    let dl = Some(deadline);
    let mut p = CacheProbe {
        url: url.to_owned(),
        position,
        ..Default::default()
    };
    match client.get_until(&format!("{base}/nix-cache-info"), 1 << 16, dl) {
        Fetch::Ok { body, .. } => {
            p.reachable = true;
            p.info = Some(narinfo::parse_cache_info(&String::from_utf8_lossy(&body)));
        }
        Fetch::Missing { .. } => {
            p.error = Some("no nix-cache-info (404)".into());
        }
        Fetch::Status { code, .. } => p.error = Some(format!("HTTP {code}")),
        Fetch::Timeout => p.error = Some(format!("timed out after {:?}", o.timeout)),
        Fetch::Failed(e) => p.error = Some(e),
    }
    p.priority = url_prio
        .or_else(|| p.info.as_ref().and_then(|i| i.priority))
        .unwrap_or(50);
    if !p.reachable {
        return p;
    }
    let mut lat = Vec::new();
    for _ in 0..o.latency_samples {
        if let Fetch::Ok { secs, .. } =
            client.get_until(&format!("{base}/nix-cache-info"), 1 << 16, dl)
        {
            lat.push(secs * 1e3);
        }
    }
    p.latency_ms = median(lat);

    // Narinfo per path, on threads pulling from a shared index. A cache whose first requests
    // all time out is hanging: stop there instead of waiting out every path.
    let threads = threads_for(paths.len(), o.threads);
    let next = Mutex::new(0usize);
    let found: Mutex<Vec<NarInfo>> = Mutex::new(Vec::new());
    // hits, misses, failures, timeouts, answered (anything but a timeout)
    let counts = Mutex::new((0u64, 0u64, 0u64, 0u64));
    let stop: Mutex<Option<String>> = Mutex::new(None);
    let queried = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    if stop.lock().unwrap().is_some() {
                        break;
                    }
                    if Instant::now() >= deadline {
                        stop.lock().unwrap().get_or_insert_with(|| {
                            format!("the overall deadline ({:?}) passed", o.deadline)
                        });
                        break;
                    }
                    let i = {
                        let mut n = next.lock().unwrap();
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some(path) = paths.get(i) else { break };
                    let Some(base_name) = path.rsplit('/').next() else {
                        continue;
                    };
                    let hash = &base_name[..base_name.len().min(32)];
                    let f = client.get_until(&format!("{base}/{hash}.narinfo"), 1 << 20, dl);
                    queried.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let mut c = counts.lock().unwrap();
                    match f {
                        Fetch::Ok { body, .. } => {
                            match narinfo::parse_narinfo(&String::from_utf8_lossy(&body)) {
                                Ok(n) => {
                                    c.0 += 1;
                                    found.lock().unwrap().push(n);
                                }
                                Err(_) => c.2 += 1,
                            }
                        }
                        Fetch::Missing { .. } => c.1 += 1,
                        Fetch::Timeout => c.3 += 1,
                        _ => c.2 += 1,
                    }
                    if c.3 >= threads.max(4) as u64 && c.0 + c.1 + c.2 == 0 {
                        stop.lock().unwrap().get_or_insert_with(|| {
                            format!(
                                "its first {} narinfo requests all timed out ({:?} each): the cache hangs",
                                c.3, o.timeout
                            )
                        });
                    }
                }
            });
        }
    });
    let (hits, misses, failures, timeouts) = counts.into_inner().unwrap();
    let queried = queried.into_inner();
    p.queried = queried;
    p.unqueried = paths.len() as u64 - queried.min(paths.len() as u64);
    p.stopped = stop.into_inner().unwrap();
    p.hits = hits;
    p.misses = misses;
    p.failures = failures;
    p.timeouts = timeouts;
    p.hit_rate = if paths.is_empty() {
        0.0
    } else {
        hits as f64 / paths.len() as f64
    };
    let mut found = found.into_inner().unwrap();
    found.sort_by(|a, b| a.store_path.cmp(&b.store_path));
    // Signatures name references by full path in the cache's own store dir.
    let store_dir = p
        .info
        .as_ref()
        .and_then(|i| i.store_dir.clone())
        .unwrap_or_else(|| store_dir.to_owned());
    let store_dir = store_dir.as_str();
    for n in &found {
        p.nar_size_hit += n.nar_size;
        for s in &n.sigs {
            *p.key_names.entry(sig::key_name(s).to_owned()).or_default() += 1;
        }
        match sig::check(n, store_dir, keys) {
            SigStatus::Trusted => p.trusted += 1,
            SigStatus::UntrustedKey => p.untrusted_key += 1,
            SigStatus::BadSignature => p.bad_signature += 1,
            SigStatus::Unsigned => p.unsigned += 1,
        }
    }

    // Throughput: the largest NARs first (better signal), within the byte budget.
    found.sort_by(|a, b| {
        b.file_size
            .unwrap_or(b.nar_size)
            .cmp(&a.file_size.unwrap_or(a.nar_size))
            .then(a.store_path.cmp(&b.store_path))
    });
    let mut budget = o.nar_bytes;
    for n in found.iter().take(o.nar_samples) {
        if budget == 0 {
            break;
        }
        let (f, read) = client.get_counted_until(&format!("{base}/{}", n.url), budget, dl);
        match f {
            Fetch::Ok { secs, .. } => {
                p.nar_fetched += 1;
                p.nar_bytes += read;
                p.nar_secs += secs;
                budget = budget.saturating_sub(read);
            }
            Fetch::Timeout => {
                p.nar_failures += 1;
                p.timeouts += 1;
            }
            _ => p.nar_failures += 1,
        }
    }
    if p.nar_secs > 0.0 && p.nar_bytes > 0 {
        p.throughput_bps = Some(p.nar_bytes as f64 / p.nar_secs);
    }
    p
}

pub(crate) fn probe_all(
    substituters: &[String],
    trusted_keys: &[String],
    paths: &[String],
    store_dir: &str,
    o: &ProbeOptions,
) -> CacheReport {
    let client = Client::new(o.timeout);
    let keys = TrustedKeys::parse(trusted_keys);
    let deadline = Instant::now() + o.deadline;
    let probes: Vec<CacheProbe> = substituters
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let s = Probing {
                client: &client,
                keys: &keys,
                o,
                deadline,
            };
            probe_one(s, u, i, paths, store_dir)
        })
        .collect();
    let findings = findings(&probes, &keys, paths.len(), store_dir);
    let recommended_order = recommend(&probes);
    CacheReport {
        closure_paths: paths.len() as u64,
        store_dir: store_dir.to_owned(),
        trusted_keys: keys.names().cloned().collect(),
        substituters: probes,
        findings,
        recommended_order,
        observed: Vec::new(),
    }
}

fn findings(probes: &[CacheProbe], keys: &TrustedKeys, n: usize, store_dir: &str) -> Vec<Finding> {
    let mut f = Vec::new();
    let trusted: std::collections::BTreeSet<&String> = keys.names().collect();
    for p in probes {
        if let Some(info) = &p.info {
            if let Some(sd) = info.store_dir.as_deref().filter(|sd| *sd != store_dir) {
                f.push(Finding {
                    severity: "HIGH",
                    message: format!(
                        "{}: nix-cache-info says StoreDir {sd}, but this store is {store_dir}: nix refuses the cache (\"binary cache is for Nix stores with prefix '{sd}'\"); remove it",
                        p.url
                    ),
                });
            }
            if let Some(bad) = &info.bad_priority {
                f.push(Finding {
                    severity: "HIGH",
                    message: format!(
                        "{}: nix-cache-info has Priority: {bad:?}, not a number: Nix fails to read it (std::stoi) and cannot use the cache",
                        p.url
                    ),
                });
            }
        }
        if let Some(why) = &p.stopped {
            f.push(Finding {
                severity: "HIGH",
                message: format!(
                    "{}: stopped querying, {}; {} of {n} paths not checked",
                    p.url, why, p.unqueried
                ),
            });
        }
        if !p.reachable {
            f.push(Finding {
                severity: "HIGH",
                message: format!(
                    "{} is unreachable ({}): every build queries it and waits for the timeout; remove it or fix it",
                    p.url,
                    p.error.as_deref().unwrap_or("?")
                ),
            });
            continue;
        }
        let missing: Vec<&String> = p
            .key_names
            .keys()
            .filter(|k| !trusted.contains(k))
            .collect();
        if p.untrusted_key > 0 {
            f.push(Finding {
                severity: "HIGH",
                message: format!(
                    "{}: {} of {} paths found are signed only by keys not in trusted-public-keys (missing public key: {}); nix refuses them and builds from source instead",
                    p.url,
                    p.untrusted_key,
                    p.hits,
                    missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
            });
        }
        if p.bad_signature > 0 {
            f.push(Finding {
                severity: "HIGH",
                message: format!(
                    "{}: {} narinfos carry a trusted key name but a signature that does not verify",
                    p.url, p.bad_signature
                ),
            });
        }
        if p.unsigned > 0 {
            f.push(Finding {
                severity: "MEDIUM",
                message: format!(
                    "{}: {} paths are unsigned (usable only with require-sigs = false)",
                    p.url, p.unsigned
                ),
            });
        }
        if p.failures + p.timeouts > 0 {
            f.push(Finding {
                severity: "MEDIUM",
                message: format!(
                    "{}: {} failed and {} timed-out requests",
                    p.url, p.failures, p.timeouts
                ),
            });
        }
        if n > 0 && p.hits == 0 {
            f.push(Finding {
                severity: "LOW",
                message: format!("{}: holds none of the {n} paths checked", p.url),
            });
        }
    }
    // Priority order (lower first, then list order) vs measured throughput.
    let mut by_prio: Vec<&CacheProbe> = probes.iter().filter(|p| usable(p)).collect();
    by_prio.sort_by_key(|p| (p.priority, p.position));
    let rec = recommend(probes);
    let cur: Vec<String> = by_prio.iter().map(|p| p.url.clone()).collect();
    if cur.len() > 1 && cur != rec {
        f.push(Finding {
            severity: "MEDIUM",
            message: format!(
                "nix tries caches in priority order {} but the measured fastest order is {}",
                cur.join(" → "),
                rec.join(" → ")
            ),
        });
    }
    f
}

/// Reachable and holding paths nix would accept (trusted signature, or unsigned).
fn usable(p: &CacheProbe) -> bool {
    p.reachable && p.trusted + p.unsigned > 0
}

/// Usable caches, fastest measured throughput first (list order breaks ties). Caches whose
/// paths all carry untrusted signatures are left out: nix rejects what they serve.
pub(crate) fn recommend(probes: &[CacheProbe]) -> Vec<String> {
    let mut v: Vec<&CacheProbe> = probes.iter().filter(|p| usable(p)).collect();
    v.sort_by(|a, b| {
        let ta = a.throughput_bps.unwrap_or(0.0);
        let tb = b.throughput_bps.unwrap_or(0.0);
        tb.total_cmp(&ta).then(a.position.cmp(&b.position))
    });
    v.into_iter().map(|p| p.url.clone()).collect()
}
