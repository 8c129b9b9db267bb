//! `nix-cache-info` and `<hash>.narinfo`: line-oriented `Key: value` files.

use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct CacheInfo {
    pub store_dir: Option<String>,
    pub want_mass_query: bool,
    pub priority: Option<u64>,
    /// A `Priority:` line that is not a number Nix accepts (Nix then fails to use the cache's
    /// priority); kept as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bad_priority: Option<String>,
}

pub(crate) fn parse_cache_info(text: &str) -> CacheInfo {
    let mut c = CacheInfo::default();
    for (k, v) in fields(text) {
        match k {
            "StoreDir" => c.store_dir = Some(v.to_owned()),
            "WantMassQuery" => c.want_mass_query = v == "1",
            "Priority" => match v.trim().parse() {
                Ok(p) => c.priority = Some(p),
                Err(_) => c.bad_priority = Some(v.to_owned()),
            },
            _ => {}
        }
    }
    c
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct NarInfo {
    pub store_path: String,
    pub url: String,
    pub compression: String,
    pub file_size: Option<u64>,
    pub nar_hash: String,
    pub nar_size: u64,
    /// Base names, as in the file.
    pub references: Vec<String>,
    pub deriver: Option<String>,
    /// `keyname:base64` signatures.
    pub sigs: Vec<String>,
}

fn fields(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines()
        .filter_map(|l| l.split_once(": ").or_else(|| l.split_once(':')))
        .map(|(k, v)| (k.trim(), v.trim()))
}

pub(crate) fn parse_narinfo(text: &str) -> Result<NarInfo, String> {
    let mut n = NarInfo {
        compression: "bzip2".into(),
        ..Default::default()
    };
    let mut have_size = false;
    for (k, v) in fields(text) {
        match k {
            "StorePath" => n.store_path = v.to_owned(),
            "URL" => n.url = v.to_owned(),
            "Compression" => n.compression = v.to_owned(),
            "FileSize" => n.file_size = v.parse().ok(),
            "NarHash" => n.nar_hash = v.to_owned(),
            "NarSize" => {
                n.nar_size = v.parse().map_err(|_| format!("bad NarSize {v:?}"))?;
                have_size = true;
            }
            "References" => n.references = v.split_whitespace().map(str::to_owned).collect(),
            "Deriver" if v != "unknown-deriver" => n.deriver = Some(v.to_owned()),
            "Sig" => n.sigs.push(v.to_owned()),
            _ => {}
        }
    }
    for (field, missing) in [
        ("StorePath", n.store_path.is_empty()),
        ("URL", n.url.is_empty()),
        ("NarHash", n.nar_hash.is_empty()),
        ("NarSize", !have_size),
    ] {
        if missing {
            return Err(format!("missing {field}"));
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NARINFO: &str = "StorePath: /nix/store/0mdqa9w1p6cmli6976v4wi0sw9r4p5pr-hello-2.12\n\
URL: nar/1abc.nar.xz\nCompression: xz\nFileHash: sha256:1abc\nFileSize: 4242\n\
NarHash: sha256:0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73\nNarSize: 9000\n\
References: 0mdqa9w1p6cmli6976v4wi0sw9r4p5pr-hello-2.12 1mdqa9w1p6cmli6976v4wi0sw9r4p5pr-glibc\n\
Deriver: 2mdqa9w1p6cmli6976v4wi0sw9r4p5pr-hello-2.12.drv\n\
Sig: cache.nixos.org-1:AAAA\nSig: other-1:BBBB\n";

    #[test]
    fn parses_narinfo() {
        let n = parse_narinfo(NARINFO).unwrap();
        assert_eq!(n.url, "nar/1abc.nar.xz");
        assert_eq!(n.compression, "xz");
        assert_eq!(n.file_size, Some(4242));
        assert_eq!(n.nar_size, 9000);
        assert_eq!(n.references.len(), 2);
        assert_eq!(n.sigs, vec!["cache.nixos.org-1:AAAA", "other-1:BBBB"]);
        assert_eq!(
            crate::cache::sig::fingerprint(&n, "/nix/store"),
            "1;/nix/store/0mdqa9w1p6cmli6976v4wi0sw9r4p5pr-hello-2.12;\
sha256:0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73;9000;\
/nix/store/0mdqa9w1p6cmli6976v4wi0sw9r4p5pr-hello-2.12,\
/nix/store/1mdqa9w1p6cmli6976v4wi0sw9r4p5pr-glibc"
        );
        assert!(parse_narinfo("URL: x\n").unwrap_err().contains("StorePath"));
    }

    #[test]
    fn parses_cache_info() {
        let c = parse_cache_info("StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n");
        assert_eq!(
            c,
            CacheInfo {
                store_dir: Some("/nix/store".into()),
                want_mass_query: true,
                priority: Some(40),
                bad_priority: None,
            }
        );
        let bad = parse_cache_info("Priority: high\n");
        assert_eq!(
            (bad.priority, bad.bad_priority.as_deref()),
            (None, Some("high"))
        );
    }
}
