//! Which store `--apply`'s store commands act on: the store that was analysed, never another.
//! nix's default store needs no flag; a store named by `--store-dir` / `--state-dir` /
//! `--store-root` gets `--store local?store=…&state=…&real=…`; a store nix cannot be pointed
//! at exactly (a `--db` elsewhere, a path a store URL cannot carry) gets no store command.

use crate::store::StoreLocation;
use std::path::Path;

/// The flags that make `nix-store` act on `loc`, or why it cannot be made to.
pub(crate) fn store_flags(loc: &StoreLocation) -> Result<Vec<String>, String> {
    let env_or =
        |var: &str, default: &str| std::env::var(var).unwrap_or_else(|_| default.to_owned());
    let nix_store_dir = env_or("NIX_STORE_DIR", "/nix/store");
    let nix_state_dir = env_or("NIX_STATE_DIR", "/nix/var/nix");
    if loc.db != loc.state_dir.join("db/db.sqlite") {
        return Err(format!(
            "the analysed database {} is not the one nix uses for a store with state in {}",
            loc.db.display(),
            loc.state_dir.display()
        ));
    }
    let same = |a: &Path, b: &str| a == Path::new(b.trim_end_matches('/'));
    if loc.store_dir == nix_store_dir.trim_end_matches('/')
        && same(&loc.real_store_dir, &nix_store_dir)
        && same(&loc.state_dir, &nix_state_dir)
    {
        return Ok(Vec::new());
    }
    let parts = [
        loc.store_dir.clone(),
        loc.state_dir.display().to_string(),
        loc.real_store_dir.display().to_string(),
    ];
    if let Some(bad) = parts
        .iter()
        .find(|p| p.contains(['&', '?', '%', '#', ' ', '=']) || !p.starts_with('/'))
    {
        return Err(format!(
            "{bad} cannot be named in a nix store URL, so nix-store could not be pointed at the analysed store"
        ));
    }
    Ok(vec![
        "--store".to_owned(),
        format!(
            "local?store={}&state={}&real={}",
            parts[0], parts[1], parts[2]
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chroot_store_is_named_exactly() {
        let loc = StoreLocation::new(
            "/nix/store",
            Path::new("/nix/var/nix"),
            None,
            Some(Path::new("/tmp/r")),
        );
        let f = store_flags(&loc).unwrap();
        assert_eq!(
            f[1],
            "local?store=/nix/store&state=/tmp/r/nix/var/nix&real=/tmp/r/nix/store"
        );
        let other_db = StoreLocation::new(
            "/nix/store",
            Path::new("/nix/var/nix"),
            Some(Path::new("/tmp/copy.sqlite")),
            None,
        );
        assert!(store_flags(&other_db).is_err());
    }
}
