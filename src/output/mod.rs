//! Output formats, one module each. They render analysis results; they compute nothing.

pub mod chart;
pub mod diffgraph;
pub mod flamegraph;
pub mod json;
pub mod markdown;
pub mod prometheus;
pub mod table;
pub mod tracking;

/// Human duration: `1.23 s`, `45.6 ms`, `789 µs`, `12 ns`.
pub fn fmt_ns(ns: u64) -> String {
    let f = ns as f64;
    if ns >= 1_000_000_000 {
        format!("{:.2} s", f / 1e9)
    } else if ns >= 1_000_000 {
        format!("{:.1} ms", f / 1e6)
    } else if ns >= 1_000 {
        format!("{:.0} \u{b5}s", f / 1e3)
    } else {
        format!("{ns} ns")
    }
}

pub fn fmt_share(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations() {
        assert_eq!(super::fmt_ns(1_234_000_000), "1.23 s");
        assert_eq!(super::fmt_ns(45_600_000), "45.6 ms");
        assert_eq!(super::fmt_ns(789_000), "789 \u{b5}s");
        assert_eq!(super::fmt_ns(12), "12 ns");
    }
}
