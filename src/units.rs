//! Numbers for people: durations, byte sizes, shares, grouped counts, a metric's value with its
//! unit. The bottom layer: it imports nothing from the crate, so every layer (build, history,
//! outputs, the CLI) formats the same way without depending on one another.

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

/// A share (0..=1) as a percentage: `12.3 %`.
pub fn fmt_share(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// Binary byte size: `512 B`, `1.50 KiB`, `2.00 GiB`.
pub fn fmt_bytes(b: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < U.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.2} {}", U[u])
    }
}

/// 4210 → "4,210".
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A relative change: `+12.3 %`, `0 %`, or `new` (nothing to be relative to).
pub fn fmt_relative(r: Option<f64>) -> String {
    match r {
        Some(r) if r == 0.0 => "0 %".into(),
        Some(r) => format!("{:+.1} %", r * 100.0),
        None => "new".into(),
    }
}

/// A value with its unit, human-sized.
pub fn fmt_value(v: f64, unit: &str) -> String {
    match unit {
        "s" if v.abs() >= 1.0 => format!("{v:.2} s"),
        "s" => format!("{:.1} ms", v * 1e3),
        "bytes" if v.abs() >= 1e9 => format!("{:.2} GB", v / 1e9),
        "bytes" if v.abs() >= 1e6 => format!("{:.1} MB", v / 1e6),
        "bytes" => format!("{:.0} kB", v / 1e3),
        "ratio" => format!("{:.1} %", v * 100.0),
        _ if v.fract() == 0.0 => group(v.max(0.0) as u64),
        _ => format!("{v:.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(fmt_ns(1_234_000_000), "1.23 s");
        assert_eq!(fmt_ns(45_600_000), "45.6 ms");
        assert_eq!(fmt_ns(789_000), "789 \u{b5}s");
        assert_eq!(fmt_ns(12), "12 ns");
    }

    #[test]
    fn sizes_counts_values() {
        assert_eq!(fmt_bytes(512), "512 B");
        assert_eq!(fmt_bytes(1536), "1.50 KiB");
        assert_eq!(group(4210), "4,210");
        assert_eq!(group(12), "12");
        assert_eq!(fmt_value(1.5, "s"), "1.50 s");
        assert_eq!(fmt_value(0.0125, "s"), "12.5 ms");
        assert_eq!(fmt_value(6381458.0, "count"), "6,381,458");
        assert_eq!(fmt_relative(Some(0.1)), "+10.0 %");
        assert_eq!(fmt_relative(None), "new");
    }
}
