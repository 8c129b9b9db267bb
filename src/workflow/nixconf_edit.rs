//! nixperf's block in nix.conf, edited as bytes: a nix.conf that is not UTF-8 (a Latin-1 byte in
//! a comment) keeps every byte of the user's lines; only the marked block is replaced or
//! appended. Later lines win in nix.conf, so the block overrides without touching the rest.

pub const BEGIN: &str =
    "# BEGIN nixperf: settings applied by `nixperf analyze --apply` (undo: `nixperf undo`)";
pub(crate) const END: &str = "# END nixperf";

/// A line without its terminator, and without a `\r` before it.
fn bare(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `before` without nixperf's block (every other byte kept as it was).
pub fn without_block(before: &[u8]) -> Vec<u8> {
    let mut kept = Vec::with_capacity(before.len());
    let mut inside = false;
    for line in before.split_inclusive(|&b| b == b'\n') {
        let text = bare(line.strip_suffix(b"\n").unwrap_or(line));
        if !inside && text == BEGIN.as_bytes() {
            inside = true;
        } else if inside && text == END.as_bytes() {
            inside = false;
        } else if !inside {
            kept.extend_from_slice(line);
        }
    }
    kept
}

/// nix.conf with nixperf's block set to `settings` (replacing an earlier block).
pub fn with_block(before: &[u8], settings: &[(String, String)]) -> Vec<u8> {
    let mut out = without_block(before);
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    if !out.is_empty() && !out.ends_with(b"\n\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(BEGIN.as_bytes());
    out.push(b'\n');
    for (k, v) in settings {
        out.extend_from_slice(format!("{k} = {v}\n").as_bytes());
    }
    out.extend_from_slice(END.as_bytes());
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_bytes_survive() {
        let before = b"# caf\xe9 settings\nkeep-outputs = true\nsubstituters = https://c\n";
        let s = vec![("max-jobs".to_owned(), "auto".to_owned())];
        let after = with_block(before, &s);
        assert!(after.starts_with(before));
        assert!(after.ends_with(b"max-jobs = auto\n# END nixperf\n"));
        // Applying again replaces the block, never duplicates it.
        assert_eq!(with_block(&after, &s), after);
    }
}
