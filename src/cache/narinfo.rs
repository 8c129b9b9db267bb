//! `nix-cache-info` and `<hash>.narinfo`: line-oriented `Key: value` files.

use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CacheInfo {
    pub store_dir: Option<String>,
    pub want_mass_query: bool,
    pub priority: Option<u64>,
}

pub fn parse_cache_info(text: &str) -> CacheInfo {
    let mut c = CacheInfo::default();
    for (k, v) in fields(text) {
        match k {
            "StoreDir" => c.store_dir = Some(v.to_owned()),
            "WantMassQuery" => c.want_mass_query = v == "1",
            "Priority" => c.priority = v.parse().ok(),
            _ => {}
        }
    }
    c
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NarInfo {
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

pub fn parse_narinfo(text: &str) -> Result<NarInfo, String> {
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
