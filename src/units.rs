//! Numbers for people: durations, byte sizes, shares, grouped counts, a metric's value with its
//! unit. The bottom layer: it imports nothing from the crate, so every layer (build, history,
//! outputs, the CLI) formats the same way without depending on one another.

/// The unit of a metric, stored and written as its name: `s`, `bytes`, `count`, `ratio`
/// (0..=1), or any other name a script recorded (`nixperf history record --metric x=1:widgets`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    Seconds,
    Bytes,
    Count,
    Ratio,
    Other(String),
}

impl Unit {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Unit::Seconds => "s",
            Unit::Bytes => "bytes",
            Unit::Count => "count",
            Unit::Ratio => "ratio",
            Unit::Other(s) => s,
        }
    }
}

impl From<&str> for Unit {
    fn from(s: &str) -> Unit {
        match s {
            "s" => Unit::Seconds,
            "bytes" => Unit::Bytes,
            "count" => Unit::Count,
            "ratio" => Unit::Ratio,
            other => Unit::Other(other.to_owned()),
        }
    }
}

impl From<String> for Unit {
    fn from(s: String) -> Unit {
        Unit::from(s.as_str())
    }
}

impl std::str::FromStr for Unit {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Unit, Self::Err> {
        Ok(Unit::from(s))
    }
}

impl std::fmt::Display for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Unit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Unit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Unit, D::Error> {
        String::deserialize(d).map(Unit::from)
    }
}

/// Human duration: `1.23 s`, `45.6 ms`, `789 µs`, `12 ns`.
pub(crate) fn fmt_ns(ns: u64) -> String {
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
pub(crate) fn fmt_share(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// Binary byte size: `512 B`, `1.50 KiB`, `2.00 GiB`.
pub(crate) fn fmt_bytes(b: u64) -> String {
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
pub(crate) fn group(n: u64) -> String {
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
pub(crate) fn fmt_relative(r: Option<f64>) -> String {
    match r {
        Some(0.0) => "0 %".into(),
        Some(r) => format!("{:+.1} %", r * 100.0),
        None => "new".into(),
    }
}

/// A value with its unit, human-sized.
pub(crate) fn fmt_value(v: f64, unit: &Unit) -> String {
    match unit {
        Unit::Seconds if v == 0.0 => "0 s".into(),
        Unit::Seconds if v.abs() >= 1.0 => format!("{v:.2} s"),
        Unit::Seconds if v.abs() >= 1e-3 => format!("{:.1} ms", v * 1e3),
        // Below a millisecond "0.0 ms" would say nothing: a quick eval's module self time.
        Unit::Seconds => format!("{:.0} \u{b5}s", v * 1e6),
        Unit::Bytes if v.abs() >= 1e9 => format!("{:.2} GB", v / 1e9),
        Unit::Bytes if v.abs() >= 1e6 => format!("{:.1} MB", v / 1e6),
        Unit::Bytes => format!("{:.0} kB", v / 1e3),
        Unit::Ratio => format!("{:.1} %", v * 100.0),
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
        assert_eq!(fmt_bytes(3 << 20 | 1 << 19), "3.50 MiB");
        assert_eq!(fmt_bytes(5 << 30), "5.00 GiB");
        assert_eq!(fmt_bytes(2 << 40), "2.00 TiB");
        assert_eq!(group(4210), "4,210");
        assert_eq!(group(12), "12");
        assert_eq!(fmt_value(1.5, &Unit::Seconds), "1.50 s");
        assert_eq!(fmt_value(0.0125, &Unit::Seconds), "12.5 ms");
        assert_eq!(fmt_value(0.0, &Unit::Seconds), "0 s");
        assert_eq!(fmt_value(0.000_042, &Unit::Seconds), "42 \u{b5}s");
        assert_eq!(fmt_value(-0.000_042, &Unit::Seconds), "-42 \u{b5}s");
        assert_eq!(fmt_value(6381458.0, &Unit::Count), "6,381,458");
        for u in ["s", "bytes", "count", "ratio", "widgets"] {
            assert_eq!(u.parse::<Unit>().unwrap().to_string(), u);
        }
        assert_eq!(Unit::from("s"), Unit::Seconds);
        assert_eq!(serde_json::to_string(&Unit::Bytes).unwrap(), "\"bytes\"");
        assert_eq!(fmt_relative(Some(0.1)), "+10.0 %");
        assert_eq!(fmt_relative(None), "new");
    }
}
