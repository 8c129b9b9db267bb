//! Chrome trace / Perfetto JSON (`chrome://tracing`, ui.perfetto.dev) of the real timeline:
//! evaluation, each build on the lane (tid) it occupied, its SetPhase sub-slices, substitutions,
//! substituter lookups, copies, and CPU / memory counters from the resource samples.

use super::model::BuildProfile;
use serde_json::{Value, json};

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// Lowest lane free at `start` (lanes reused as builds end), so concurrent builds stack.
fn lane(lanes: &mut Vec<u64>, start: u64, end: u64) -> usize {
    let i = lanes
        .iter()
        .position(|&e| e <= start)
        .unwrap_or(lanes.len());
    if i == lanes.len() {
        lanes.push(end);
    } else {
        lanes[i] = end;
    }
    i
}

pub(crate) fn trace(p: &BuildProfile) -> Value {
    let mut ev: Vec<Value> = Vec::new();
    let meta = |tid: usize, name: &str| json!({"ph":"M","pid":1,"tid":tid,"name":"thread_name","args":{"name":name}});
    ev.push(json!({"ph":"M","pid":1,"name":"process_name","args":{"name":"nix build"}}));
    ev.push(meta(0, "evaluation"));
    if let Some(e) = p.meta.eval_end_ns {
        ev.push(json!({"ph":"X","pid":1,"tid":0,"name":"evaluation","cat":"evaluation","ts":0.0,"dur":us(e)}));
    }
    let mut order: Vec<usize> = (0..p.derivations.len()).collect();
    order.sort_by_key(|&i| p.derivations[i].start_ns);
    let mut lanes = Vec::new();
    for i in order {
        let d = &p.derivations[i];
        let tid = 100 + lane(&mut lanes, d.start_ns, d.end_ns);
        ev.push(json!({"ph":"X","pid":1,"tid":tid,"name":d.name,"cat":"build","ts":us(d.start_ns),
            "dur":us(d.wall_ns()),"args":{"drv":d.drv_path,"outcome":d.outcome.as_str(),"log_lines":d.log_lines}}));
        for (k, (ph, t)) in d.phases.iter().enumerate() {
            let end = d.phases.get(k + 1).map_or(d.end_ns, |n| n.1);
            ev.push(json!({"ph":"X","pid":1,"tid":tid,"name":ph,"cat":"phase","ts":us(*t),"dur":us(end.saturating_sub(*t))}));
        }
    }
    for l in 0..lanes.len() {
        ev.push(meta(100 + l, &format!("build slot {}", l + 1)));
    }
    let mut lanes = Vec::new();
    for s in &p.substitutions {
        let tid = 200 + lane(&mut lanes, s.start_ns, s.end_ns);
        ev.push(json!({"ph":"X","pid":1,"tid":tid,"name":super::model::store_name(&s.store_path),"cat":"substitute",
            "ts":us(s.start_ns),"dur":us(s.end_ns.saturating_sub(s.start_ns)),"args":{"from":s.substituter,"bytes":s.bytes}}));
    }
    for l in 0..lanes.len() {
        ev.push(meta(200 + l, &format!("substitution slot {}", l + 1)));
    }
    for c in &p.copies {
        ev.push(json!({"ph":"X","pid":1,"tid":300,"name":super::model::store_name(&c.store_path),"cat":"copy",
            "ts":us(c.start_ns),"dur":us(c.end_ns.saturating_sub(c.start_ns)),"args":{"from":c.from,"to":c.to}}));
    }
    // Substituter lookups (narinfo queries, nix-cache-info / .narinfo downloads), so time lost
    // on a slow or unreachable cache shows on its own lanes.
    let mut lookups: Vec<(u64, u64, String, String)> = p
        .queries
        .iter()
        .map(|q| {
            let name = format!("query {}", super::model::store_name(&q.store_path));
            (q.start_ns, q.end_ns, name, q.substituter.clone())
        })
        .chain(p.transfers.iter().filter(|t| t.is_query()).map(|t| {
            let name = t.url.rsplit('/').next().unwrap_or(&t.url).to_string();
            (t.start_ns, t.end_ns, name, t.cache_url().to_string())
        }))
        .collect();
    lookups.sort();
    let mut lanes = Vec::new();
    for (a, b, name, sub) in lookups {
        let tid = 400 + lane(&mut lanes, a, b);
        ev.push(
            json!({"ph":"X","pid":1,"tid":tid,"name":name,"cat":"query","ts":us(a),
            "dur":us(b.saturating_sub(a)),"args":{"substituter":sub}}),
        );
    }
    for l in 0..lanes.len() {
        ev.push(meta(400 + l, &format!("substituter lookups {}", l + 1)));
    }
    for s in &p.samples {
        let cpu: f32 = s.cpu.iter().sum::<f32>() * 100.0;
        ev.push(json!({"ph":"C","pid":1,"name":"CPU %","ts":us(s.t_ns),"args":{"busy":cpu}}));
        ev.push(json!({"ph":"C","pid":1,"name":"memory MiB","ts":us(s.t_ns),"args":{"used":s.mem_used / (1 << 20)}}));
    }
    json!({"traceEvents": ev, "displayTimeUnit": "ms"})
}
