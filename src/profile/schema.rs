//! The profile's SQLite schema. Bump SCHEMA_VERSION on any change and keep `read` able to open
//! every older version.

/// `PRAGMA application_id`: 'nxpf'. Tells our profiles from any other SQLite file.
pub(super) const APPLICATION_ID: i32 = 0x6e78_7066;
/// 2: `calls.clocked_calls` (how many of a node's calls were timed; 1 reads as all).
/// 3: `files.role`, `files.role_why`; frames of kind `scope`; meta
/// `module_patterns`.
pub(crate) const SCHEMA_VERSION: i64 = 3;

pub(super) const CREATE: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL, is_library INTEGER NOT NULL,
    parse_ns INTEGER NOT NULL, parses INTEGER NOT NULL, imports INTEGER NOT NULL,
    root_evals INTEGER NOT NULL, whnf_ns INTEGER NOT NULL, self_ns INTEGER NOT NULL,
    inclusive_ns INTEGER NOT NULL, calls INTEGER NOT NULL, thunks INTEGER NOT NULL,
    role TEXT NOT NULL, role_why TEXT NOT NULL);
CREATE TABLE frames (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL,
    file_id INTEGER NOT NULL, line INTEGER NOT NULL, col INTEGER NOT NULL,
    timed INTEGER NOT NULL);
CREATE TABLE calls (
    id INTEGER PRIMARY KEY, parent INTEGER NOT NULL, frame_id INTEGER NOT NULL,
    count INTEGER NOT NULL, inclusive_ns INTEGER NOT NULL, self_ns INTEGER NOT NULL,
    clocked_calls INTEGER NOT NULL);
CREATE TABLE findings (
    id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL, kind TEXT NOT NULL, line INTEGER NOT NULL,
    col INTEGER NOT NULL, depth INTEGER NOT NULL, size INTEGER NOT NULL, detail TEXT NOT NULL,
    count INTEGER NOT NULL);
CREATE TABLE ifd (
    id INTEGER PRIMARY KEY, primop TEXT NOT NULL, file_id INTEGER NOT NULL, line INTEGER NOT NULL,
    col INTEGER NOT NULL, derivations TEXT NOT NULL, blocked_ns INTEGER NOT NULL);
CREATE TABLE call_sites (
    call_id INTEGER NOT NULL, file_id INTEGER NOT NULL, line INTEGER NOT NULL,
    col INTEGER NOT NULL, count INTEGER NOT NULL);
";
