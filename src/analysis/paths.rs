//! Short, stable display names for source files.

use std::path::Path;

/// `path` relative to `base` when it lies below it; otherwise the last three components
/// (store paths and absolute paths elsewhere stay recognisable without their long prefix).
pub fn display(path: &str, base: Option<&Path>) -> String {
    if !path.starts_with('/') {
        return path.to_owned();
    }
    if let Some(base) = base
        && let Ok(rel) = Path::new(path).strip_prefix(base)
    {
        return rel.display().to_string();
    }
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if parts.len() <= 3 {
        return path.to_owned();
    }
    format!("\u{2026}/{}", parts[parts.len() - 3..].join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortens() {
        let base = Path::new("/work/proj");
        assert_eq!(display("/work/proj/a/b.nix", Some(base)), "a/b.nix");
        assert_eq!(
            display("/nix/store/abc-source/lib/modules.nix", Some(base)),
            "\u{2026}/abc-source/lib/modules.nix"
        );
        assert_eq!(
            display("\u{ab}string\u{bb}", Some(base)),
            "\u{ab}string\u{bb}"
        );
    }
}
