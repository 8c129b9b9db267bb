//! Parses one line of a build log: Nix's `--log-format internal-json` (`@nix {json}`), optionally
//! prefixed with the receive time that `run` stamps (`<ns since start> <line>`), and nixperf's own
//! `@nixperf {json}` header/trailer lines (command, exit status).
//!
//! Nix 2.8's JSON logger (nlohmann, keys sorted) writes the hot shapes as
//! `{"action":"result","fields":[1,4,0,0],"id":N,"type":105}`; those are matched by a hand-rolled
//! fast path without allocation, everything else goes through serde_json on borrowed data.

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// Activity types of Nix 2.8 (`libutil/logging.hh`).
pub mod act {
    pub const UNKNOWN: u64 = 0;
    pub const COPY_PATH: u64 = 100;
    pub const FILE_TRANSFER: u64 = 101;
    pub const REALISE: u64 = 102;
    pub const COPY_PATHS: u64 = 103;
    pub const BUILDS: u64 = 104;
    pub const BUILD: u64 = 105;
    pub const OPTIMISE_STORE: u64 = 106;
    pub const VERIFY_PATHS: u64 = 107;
    pub const SUBSTITUTE: u64 = 108;
    pub const QUERY_PATH_INFO: u64 = 109;
    pub const POST_BUILD_HOOK: u64 = 110;
    pub const BUILD_WAITING: u64 = 111;
    pub fn known(t: u64) -> bool {
        t == UNKNOWN || (COPY_PATH..=BUILD_WAITING).contains(&t)
    }
}

/// Result types of Nix 2.8.
pub mod res {
    pub const FILE_LINKED: u64 = 100;
    pub const BUILD_LOG_LINE: u64 = 101;
    pub const UNTRUSTED_PATH: u64 = 102;
    pub const CORRUPTED_PATH: u64 = 103;
    pub const SET_PHASE: u64 = 104;
    pub const PROGRESS: u64 = 105;
    pub const SET_EXPECTED: u64 = 106;
    pub const POST_BUILD_LOG_LINE: u64 = 107;
    pub fn known(t: u64) -> bool {
        (FILE_LINKED..=POST_BUILD_LOG_LINE).contains(&t)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Field<'a> {
    Int(i64),
    Str(Cow<'a, str>),
}

impl Field<'_> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Field::Str(s) => Some(s),
            Field::Int(_) => None,
        }
    }
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Field::Int(i) => Some(*i),
            Field::Str(_) => None,
        }
    }
}

/// Activity fields: the integer-only shapes (progress, expected) live inline, no allocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Fields<'a> {
    Ints { n: u8, v: [i64; 4] },
    Mixed(Vec<Field<'a>>),
}

impl Default for Fields<'_> {
    fn default() -> Self {
        Fields::Ints { n: 0, v: [0; 4] }
    }
}

impl<'a> Fields<'a> {
    pub fn str(&self, i: usize) -> Option<&str> {
        match self {
            Fields::Mixed(v) => v.get(i).and_then(Field::as_str),
            Fields::Ints { .. } => None,
        }
    }
    pub fn int(&self, i: usize) -> Option<i64> {
        match self {
            Fields::Ints { n, v } => (i < *n as usize).then(|| v[i]),
            Fields::Mixed(v) => v.get(i).and_then(Field::as_int),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action<'a> {
    Start {
        id: u64,
        ty: u64,
        level: u64,
        text: Cow<'a, str>,
        fields: Fields<'a>,
    },
    Stop {
        id: u64,
    },
    Result {
        id: u64,
        ty: u64,
        fields: Fields<'a>,
    },
    Msg {
        level: u64,
        msg: Cow<'a, str>,
    },
    /// An action this nixperf does not know (a newer Nix); counted, otherwise ignored.
    Other,
}

/// nixperf's own lines in a saved log: what ran and how it ended, so a replay is complete.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Trailer {
    #[serde(default)]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub started_at: Option<u64>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub signal: Option<i32>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body<'a> {
    Nix(Action<'a>),
    Nixperf(Trailer),
    /// Anything else the command printed on stderr.
    Text(&'a str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Line<'a> {
    /// Receive time in ns since the command started; `None` in a plain Nix log.
    pub t_ns: Option<u64>,
    pub body: Body<'a>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BadLine {
    pub reason: String,
    /// The stamp, when the prefix was readable, so time still advances.
    pub t_ns: Option<u64>,
}

pub const NIX_PREFIX: &str = "@nix ";
pub const NIXPERF_PREFIX: &str = "@nixperf ";

/// Parses one line (without its newline).
pub fn parse_line(line: &str) -> Result<Line<'_>, BadLine> {
    let (t_ns, rest) = split_stamp(line);
    let bad = |reason: String| BadLine { reason, t_ns };
    let body = if let Some(json) = rest.strip_prefix(NIX_PREFIX) {
        Body::Nix(parse_action(json).map_err(bad)?)
    } else if let Some(json) = rest.strip_prefix(NIXPERF_PREFIX) {
        Body::Nixperf(serde_json::from_str(json).map_err(|e| bad(e.to_string()))?)
    } else if rest.starts_with("@nix") {
        return Err(bad("malformed @nix prefix".into()));
    } else {
        Body::Text(rest)
    };
    Ok(Line { t_ns, body })
}

/// `123456 @nix …` → (Some(123456), "@nix …"). Only `@` lines are stamped in a saved log (other
/// stderr text is kept verbatim), so a text line that starts with a number stays text.
fn split_stamp(line: &str) -> (Option<u64>, &str) {
    let b = line.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0
        || digits > 20
        || b.get(digits) != Some(&b' ')
        || b.get(digits + 1) != Some(&b'@')
    {
        return (None, line);
    }
    match line[..digits].parse() {
        Ok(t) => (Some(t), &line[digits + 1..]),
        Err(_) => (None, line),
    }
}

pub fn parse_action(json: &str) -> Result<Action<'_>, String> {
    if let Some(a) = fast_result(json) {
        return Ok(a);
    }
    let raw: Raw = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let need =
        |v: Option<u64>, what: &str| v.ok_or_else(|| format!("{} without {what}", raw.action));
    Ok(match raw.action.as_ref() {
        "start" => Action::Start {
            id: need(raw.id, "id")?,
            ty: need(raw.ty, "type")?,
            level: raw.level.unwrap_or(0),
            text: raw.text.unwrap_or(Cow::Borrowed("")),
            fields: raw.fields.unwrap_or_default(),
        },
        "stop" => Action::Stop {
            id: need(raw.id, "id")?,
        },
        "result" => Action::Result {
            id: need(raw.id, "id")?,
            ty: need(raw.ty, "type")?,
            fields: raw.fields.unwrap_or_default(),
        },
        "msg" => Action::Msg {
            level: raw.level.unwrap_or(0),
            msg: raw.msg.unwrap_or(Cow::Borrowed("")),
        },
        _ => Action::Other,
    })
}

/// The hot shape: `{"action":"result","fields":[ints…],"id":N,"type":T}` exactly as Nix 2.8
/// prints it. Anything unexpected returns `None` and the caller takes the general path.
fn fast_result(json: &str) -> Option<Action<'static>> {
    let mut s = json
        .as_bytes()
        .strip_prefix(b"{\"action\":\"result\",\"fields\":[")?;
    let mut v = [0i64; 4];
    let mut n = 0usize;
    if s.first() == Some(&b']') {
        s = &s[1..];
    } else {
        loop {
            let (x, rest) = uint(s)?;
            if n == 4 {
                return None;
            }
            v[n] = x as i64;
            n += 1;
            match rest.first()? {
                b',' => s = &rest[1..],
                b']' => {
                    s = &rest[1..];
                    break;
                }
                _ => return None,
            }
        }
    }
    let (id, s) = uint(s.strip_prefix(b",\"id\":")?)?;
    let (ty, s) = uint(s.strip_prefix(b",\"type\":")?)?;
    (s == b"}").then_some(Action::Result {
        id,
        ty,
        fields: Fields::Ints { n: n as u8, v },
    })
}

fn uint(s: &[u8]) -> Option<(u64, &[u8])> {
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || n > 19 {
        return None;
    }
    let mut x = 0u64;
    for &c in &s[..n] {
        x = x * 10 + (c - b'0') as u64;
    }
    Some((x, &s[n..]))
}

#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default, rename = "type")]
    ty: Option<u64>,
    #[serde(default)]
    level: Option<u64>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    msg: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    fields: Option<Fields<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Fields<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of strings and integers")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(4));
                while let Some(f) = seq.next_element::<Field<'a>>()? {
                    v.push(f);
                }
                Ok(Fields::Mixed(v))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Field<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Field::Int(v as i64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Field::Int(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Field::Int(v as i64))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Field::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Field::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Field::Str(Cow::Owned(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Field::Str(Cow::Borrowed("")))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_and_slow_paths_agree() {
        let s = r#"{"action":"result","fields":[1,4,0,0],"id":23317377449986,"type":105}"#;
        let fast = fast_result(s).unwrap();
        let raw: Raw = serde_json::from_str(s).unwrap();
        assert_eq!(raw.id, Some(23317377449986));
        match fast {
            Action::Result { id, ty, fields } => {
                assert_eq!((id, ty), (23317377449986, 105));
                assert_eq!(fields.int(1), Some(4));
                assert_eq!(fields.int(4), None);
            }
            _ => panic!(),
        }
    }

    #[test]
    fn stamped_start_with_string_fields() {
        let l = parse_line(r#"1500 @nix {"action":"start","fields":["/nix/store/x.drv","",1,1],"id":7,"level":3,"text":"building","type":105}"#).unwrap();
        assert_eq!(l.t_ns, Some(1500));
        match l.body {
            Body::Nix(Action::Start { id, ty, fields, .. }) => {
                assert_eq!((id, ty), (7, 105));
                assert_eq!(fields.str(0), Some("/nix/store/x.drv"));
                assert_eq!(fields.int(2), Some(1));
            }
            b => panic!("{b:?}"),
        }
    }

    #[test]
    fn escaped_log_line_is_owned_and_correct() {
        let l = parse_line(
            r#"@nix {"action":"result","fields":["a \"q\" \u001b[0m"],"id":1,"type":101}"#,
        )
        .unwrap();
        match l.body {
            Body::Nix(Action::Result { fields, .. }) => {
                assert_eq!(fields.str(0), Some("a \"q\" \u{1b}[0m"))
            }
            b => panic!("{b:?}"),
        }
    }

    #[test]
    fn bad_lines_are_errors_not_panics() {
        for l in [
            r#"@nix {"action":"result","fields":[1,4"#,
            r#"@nix {"action":"stop"}"#,
            "@nix not json",
            "@nixfoo",
            r#"12 @nix {"action":"start","id":1}"#,
        ] {
            assert!(parse_line(l).is_err(), "{l}");
        }
        assert_eq!(
            parse_line(r#"12 @nix {"action":"start","id":1}"#)
                .unwrap_err()
                .t_ns,
            Some(12)
        );
        assert!(matches!(
            parse_line("plain text").unwrap().body,
            Body::Text("plain text")
        ));
        assert!(matches!(
            parse_line("2024 was a year").unwrap().body,
            Body::Text(_)
        ));
    }
}
