//! Why a nix run left no profile, in one line, from what nix said and how it ended. "The plugin
//! did not load" only when nix said so; otherwise the real cause (stack overflow, a missing file,
//! the plugin failing to write the profile, a signal), else nix's own last error line.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// One line naming the cause. `stderr` is the tail of what nix printed.
pub fn no_profile(program: &str, status: ExitStatus, stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(|l| strip_ansi(l.trim()))
        .filter(|l| !l.is_empty())
        .collect();
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    let last_error = lines
        .iter()
        .rev()
        .find(|l| l.starts_with("error:"))
        .map(|l| l.to_string());

    if has("stack overflow") {
        return format!(
            "{program} ran out of stack (\"error: stack overflow\", deep or infinite recursion) and exited at once: Nix's overflow handler calls _exit, which skips the exit hook that writes the profile, so there is no partial profile"
        );
    }
    if status.signal() == Some(libc::SIGSEGV) {
        return format!(
            "{program} crashed with SIGSEGV (most likely a stack overflow in deep recursion) before the profile could be written"
        );
    }
    // The plugin's own words: it loaded, ran, and could not write the file.
    if let Some(l) = lines.iter().rev().find(|l| l.starts_with("nixperf:")) {
        return format!(
            "{program} ran with the plugin, but the profile could not be written: {}",
            l.trim_start_matches("nixperf:").trim()
        );
    }
    if has("could not dynamically open plugin")
        || has("unknown setting 'nixperf-profile'")
        || has("plugin-files set after plugins were loaded")
    {
        return format!(
            "{program} exited ({status}) without writing a profile: the plugin did not load ({})",
            last_error
                .or_else(|| lines
                    .iter()
                    .find(|l| l.contains("plugin") || l.contains("nixperf-profile"))
                    .map(|l| l.to_string()))
                .unwrap_or_default()
        );
    }
    if let Some(sig) = status.signal() {
        return format!("{program} was killed by signal {sig} before it wrote a profile");
    }
    match last_error {
        Some(e) => format!("{program} failed before evaluating anything ({status}): {e}"),
        None => format!(
            "{program} exited ({status}) without writing a profile and without an error message"
        ),
    }
}

fn strip_ansi(s: &str) -> &str {
    // Nix colours "error:"; the patterns above match the text after the escape codes.
    match s.find("error:") {
        Some(i) if s[..i].contains('\x1b') => &s[i..],
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn st(code: i32) -> ExitStatus {
        ExitStatus::from_raw(code << 8)
    }

    #[test]
    fn names_the_real_cause() {
        let so = no_profile(
            "nix-instantiate",
            st(1),
            "error: stack overflow (possible infinite recursion)\n",
        );
        assert!(so.contains("ran out of stack"), "{so}");
        let missing = no_profile(
            "nix-instantiate",
            st(1),
            "\x1b[31;1merror:\x1b[0m getting status of '/x/missing.nix': No such file or directory\n",
        );
        assert!(missing.contains("missing.nix"), "{missing}");
        assert!(!missing.contains("plugin did not load"), "{missing}");
        let full = no_profile(
            "nix-instantiate",
            st(0),
            "nixperf: /x/p.db: cannot write profile: database or disk is full\n",
        );
        assert!(full.contains("disk is full"), "{full}");
        let noplug = no_profile(
            "nix-instantiate",
            st(0),
            "warning: unknown setting 'nixperf-profile'\n",
        );
        assert!(noplug.contains("plugin did not load"), "{noplug}");
        let segv = no_profile("nix", ExitStatus::from_raw(libc::SIGSEGV), "");
        assert!(segv.contains("SIGSEGV"), "{segv}");
    }
}
