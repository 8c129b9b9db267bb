//! Which files count as library code: their cost rolls up into the module that called them.

/// Path fragments; a file is library code when its path contains any of them.
#[derive(Debug, Clone)]
pub struct LibraryMatcher {
    patterns: Vec<String>,
}

impl LibraryMatcher {
    /// nixpkgs' `lib/`, Nix's built-in `derivation.nix` and corepkgs, and (Nix >= 2.26) its
    /// internal files such as `«nix-internal»/call-flake.nix`. The same default as the
    /// plugin's `nixperf-library` setting (plugin/plugin.cc).
    pub const DEFAULT: &'static str = "/lib/ //builtin/ <nix/ /corepkgs/ \u{ab}nix-internal\u{bb}/";

    pub fn new(spec: &str) -> LibraryMatcher {
        LibraryMatcher {
            patterns: spec.split_whitespace().map(str::to_owned).collect(),
        }
    }

    pub fn is_library(&self, path: &str) -> bool {
        self.patterns.iter().any(|p| path.contains(p.as_str()))
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

impl Default for LibraryMatcher {
    fn default() -> Self {
        LibraryMatcher::new(Self::DEFAULT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_patterns() {
        let m = LibraryMatcher::default();
        assert!(m.is_library("/src/nixpkgs/lib/modules.nix"));
        assert!(m.is_library("//builtin/derivation.nix"));
        assert!(m.is_library("\u{ab}nix-internal\u{bb}/call-flake.nix"));
        assert!(!m.is_library("/etc/nixos/configuration.nix"));
        assert!(!m.is_library("/src/nixpkgs/nixos/modules/services/x.nix"));
    }
}
