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

/// Activity types of Nix 2.8 (`libutil/logging.hh`). The whole list, read or not: `known`
/// spans it.
#[allow(dead_code)]
pub(crate) mod act {
    pub(crate) const UNKNOWN: u64 = 0;
    pub(crate) const COPY_PATH: u64 = 100;
    pub(crate) const FILE_TRANSFER: u64 = 101;
    pub(crate) const REALISE: u64 = 102;
    pub(crate) const COPY_PATHS: u64 = 103;
    pub(crate) const BUILDS: u64 = 104;
    pub(crate) const BUILD: u64 = 105;
    pub(crate) const OPTIMISE_STORE: u64 = 106;
    pub(crate) const VERIFY_PATHS: u64 = 107;
    pub(crate) const SUBSTITUTE: u64 = 108;
    pub(crate) const QUERY_PATH_INFO: u64 = 109;
    pub(crate) const POST_BUILD_HOOK: u64 = 110;
    pub(crate) const BUILD_WAITING: u64 = 111;
    pub(crate) fn known(t: u64) -> bool {
        t == UNKNOWN || (COPY_PATH..=BUILD_WAITING).contains(&t)
    }
}

/// Result types of Nix 2.8. The whole list, read or not: `known` spans it.
#[allow(dead_code)]
pub(crate) mod res {
    pub(crate) const FILE_LINKED: u64 = 100;
    pub(crate) const BUILD_LOG_LINE: u64 = 101;
    pub(crate) const UNTRUSTED_PATH: u64 = 102;
    pub(crate) const CORRUPTED_PATH: u64 = 103;
    pub(crate) const SET_PHASE: u64 = 104;
    pub(crate) const PROGRESS: u64 = 105;
    pub(crate) const SET_EXPECTED: u64 = 106;
    pub(crate) const POST_BUILD_LOG_LINE: u64 = 107;
    pub(crate) fn known(t: u64) -> bool {
        (FILE_LINKED..=POST_BUILD_LOG_LINE).contains(&t)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field<'a> {
    Int(i64),
    Str(Cow<'a, str>),
}

impl Field<'_> {
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Field::Str(s) => Some(s),
            Field::Int(_) => None,
        }
    }
    pub(crate) fn as_int(&self) -> Option<i64> {
        match self {
            Field::Int(i) => Some(*i),
            Field::Str(_) => None,
        }
    }
}

/// Activity fields: the integer-only shapes (progress, expected) live inline, no allocation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fields<'a> {
    Ints {
        n: u8,
        v: [i64; 4],
    },
    /// One string (a build log line, a phase name): borrowed from the line when it has no
    /// escapes.
    Str(Cow<'a, str>),
    Mixed(Vec<Field<'a>>),
}

impl Default for Fields<'_> {
    fn default() -> Self {
        Fields::Ints { n: 0, v: [0; 4] }
    }
}

impl<'a> Fields<'a> {
    pub(crate) fn str(&self, i: usize) -> Option<&str> {
        match self {
            Fields::Mixed(v) => v.get(i).and_then(Field::as_str),
            Fields::Str(s) => (i == 0).then_some(&**s),
            Fields::Ints { .. } => None,
        }
    }
    pub(crate) fn int(&self, i: usize) -> Option<i64> {
        match self {
            Fields::Ints { n, v } => (i < *n as usize).then(|| v[i]),
            Fields::Mixed(v) => v.get(i).and_then(Field::as_int),
            Fields::Str(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action<'a> {
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
pub(crate) struct Trailer {
    #[serde(default)]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub started_at: Option<u64>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub signal: Option<i32>,
    /// CPUs of the machine (header).
    #[serde(default)]
    pub cpus: Option<u32>,
    /// One build's measured CPU time (written after the command ends).
    #[serde(default)]
    pub build_cpu: Option<BuildCpuLine>,
    #[serde(default)]
    pub unattributed_cpu_ns: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub(crate) struct BuildCpuLine {
    pub drv: String,
    pub cpu_ns: u64,
    #[serde(default)]
    pub cores: Option<u32>,
    #[serde(default)]
    pub demand: Option<f64>,
    #[serde(default)]
    pub active_share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Body<'a> {
    Nix(Action<'a>),
    Nixperf(Trailer),
    /// Anything else the command printed on stderr.
    Text(&'a str),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line<'a> {
    /// Receive time in ns since the command started; `None` in a plain Nix log.
    pub t_ns: Option<u64>,
    pub body: Body<'a>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BadLine {
    pub reason: String,
    /// The stamp, when the prefix was readable, so time still advances.
    pub t_ns: Option<u64>,
}

pub(crate) const NIX_PREFIX: &str = "@nix ";
pub(crate) const NIXPERF_PREFIX: &str = "@nixperf ";

/// Parses one line (without its newline).
pub(crate) fn parse_line(line: &str) -> Result<Line<'_>, BadLine> {
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

pub(crate) fn parse_action(json: &str) -> Result<Action<'_>, String> {
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

/// The hot shapes, exactly as Nix 2.8 prints them: `{"action":"result","fields":[ints…],"id":N,
/// "type":T}` (progress, expected) and `{"action":"result","fields":["text"],"id":N,"type":T}`
/// (log lines, phases). Anything unexpected returns `None` and the
/// caller takes the general (serde) path, so the fast path never decides what is valid.
fn fast_result(json: &str) -> Option<Action<'_>> {
    let mut s = json
        .as_bytes()
        .strip_prefix(b"{\"action\":\"result\",\"fields\":[")?;
    let fields = if s.first() == Some(&b'"') {
        let (text, rest) = json_string(&json[json.len() - s.len() + 1..])?;
        s = rest.as_bytes().strip_prefix(b"]")?;
        Fields::Str(text)
    } else {
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
        Fields::Ints { n: n as u8, v }
    };
    let (id, s) = uint(s.strip_prefix(b",\"id\":")?)?;
    let (ty, s) = uint(s.strip_prefix(b",\"type\":")?)?;
    (s == b"}").then_some(Action::Result { id, ty, fields })
}

/// The body of a JSON string after its opening quote → (decoded text, rest after the closing
/// quote). Borrowed when there are no escapes. `None` on anything unusual (control characters,
/// bad escapes, lone surrogates): the caller falls back to serde, which reports the error.
fn json_string(s: &str) -> Option<(Cow<'_, str>, &str)> {
    let b = s.as_bytes();
    let special = |c: &u8| *c == b'"' || *c == b'\\' || *c < 0x20;
    let end = b.iter().position(special)?;
    if b[end] == b'"' {
        // `end` is at an ASCII byte: a char boundary.
        return Some((Cow::Borrowed(&s[..end]), &s[end + 1..]));
    }
    let mut out = String::with_capacity(s.len().min(256));
    out.push_str(&s[..end]);
    let mut i = end;
    loop {
        match *b.get(i)? {
            b'"' => return Some((Cow::Owned(out), &s[i + 1..])),
            b'\\' => {
                let e = *b.get(i + 1)?;
                i += 2;
                out.push(match e {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    b'u' => {
                        let hi = hex4(b.get(i..i + 4)?)?;
                        i += 4;
                        if (0xd800..0xdc00).contains(&hi) {
                            let lo = hex4(b.get(i..i + 6)?.strip_prefix(b"\\u")?)?;
                            i += 6;
                            if !(0xdc00..0xe000).contains(&lo) {
                                return None;
                            }
                            char::from_u32(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00))?
                        } else {
                            char::from_u32(hi)?
                        }
                    }
                    _ => return None,
                });
            }
            c if c < 0x20 => return None,
            _ => {
                // The run of plain bytes up to the next special one; it ends at an ASCII byte,
                // so on a char boundary.
                let run = b[i..].iter().position(special)?;
                out.push_str(&s[i..i + run]);
                i += run;
            }
        }
    }
}

fn hex4(h: &[u8]) -> Option<u32> {
    if h.len() != 4 {
        return None;
    }
    h.iter()
        .try_fold(0u32, |x, &c| Some(x * 16 + (c as char).to_digit(16)?))
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
    fn fast_string_result_matches_serde() {
        for s in [
            r#"{"action":"result","fields":["diamond-b line 0"],"id":7,"type":101}"#,
            r#"{"action":"result","fields":["buildPhase"],"id":7,"type":104}"#,
            r#"{"action":"result","fields":["ünïcode ok"],"id":7,"type":101}"#,
            r#"{"action":"result","fields":[""],"id":7,"type":101}"#,
        ] {
            let fast = fast_result(s).unwrap();
            let raw: Raw = serde_json::from_str(s).unwrap();
            let Action::Result { id, ty, fields } = fast else {
                panic!()
            };
            assert_eq!((Some(id), Some(ty)), (raw.id, raw.ty));
            assert_eq!(fields.str(0), raw.fields.as_ref().unwrap().str(0));
            assert_eq!(fields.str(1), None);
        }
        // Control characters, bad escapes, two fields, bad endings: the general path decides.
        for s in [
            r#"{"action":"result","fields":["a \x"],"id":7,"type":101}"#,
            r#"{"action":"result","fields":["\ud800 lone"],"id":7,"type":101}"#,
            "{\"action\":\"result\",\"fields\":[\"a\tb\"],\"id\":7,\"type\":101}",
            r#"{"action":"result","fields":["a","b"],"id":7,"type":101}"#,
            r#"{"action":"result","fields":["a"],"id":7,"type":101"#,
            r#"{"action":"result","fields":["a],"id":7,"type":101}"#,
        ] {
            assert!(fast_result(s).is_none(), "{s}");
        }
        // Escapes decode exactly as serde decodes them.
        for s in [
            r#"{"action":"result","fields":["a \"q\" \\ \/ \n\t \u001b[0m \u00e9 \ud83d\ude00 ü"],"id":7,"type":101}"#,
            r#"{"action":"result","fields":["\"\""],"id":7,"type":101}"#,
        ] {
            let raw: Raw = serde_json::from_str(s).unwrap();
            let Some(Action::Result { fields, .. }) = fast_result(s) else {
                panic!("{s}")
            };
            assert_eq!(fields.str(0), raw.fields.as_ref().unwrap().str(0), "{s}");
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
