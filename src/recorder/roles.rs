//! Which files are modules and which are helper libraries — decided from each file's code, once,
//! when it is parsed, not from path fragments.
//!
//! - Nix's own files and nixpkgs' `lib/` (recognised by its own files beside it, wherever it
//!   lies) are library: never instrumented, their cost is always their caller's.
//! - A file whose value is a NixOS-style module, a package, an overlay or data, and the file the
//!   evaluation starts in, is a module: it keeps its own row.
//! - A file whose value is a set of functions (behind `{ lib }:`, `lib:` or `rec`) or a single
//!   function is a helper library: its cost rolls up into the module that called it, and keeps
//!   a row of its own only when no module is on the stack.
//! - `--library` / `--module` path fragments add to this (they win over the code's shape, not
//!   over Nix's own files).

use crate::profile::FileRole;
use rustc_hash::FxHashMap;
use std::path::Path;

/// The shape of a parsed file's value, as `plugin/file_shape.cc` reads it (its kind crosses the
/// bridge as the bridge's `ShapeKind`, converted in `recorder/bridge.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub kind: ShapeKind,
    pub functions: u32,
    /// Attributes taken from elsewhere (`import ./x.nix …`, `inherit (lib.x) f`).
    pub reexports: u32,
    pub values: u32,
    pub module_keys: bool,
    /// The lambda patterns in front of the value, as written (`{ lib }:`, `final: prev:`).
    pub params: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeKind {
    Data,
    NixosModule,
    Package,
    Overlay,
    FunctionSet,
    Function,
}

/// Paths of Nix's own files: 2.8's `//builtin/derivation.nix` and corepkgs, `<nix/…>`, and
/// (Nix >= 2.26) `«nix-internal»/call-flake.nix`.
const NIX_INTERNAL: [&str; 4] = [
    "//builtin/",
    "<nix/",
    "/corepkgs/",
    "\u{ab}nix-internal\u{bb}/",
];

/// Files that only nixpkgs' `lib/` has, all of them beside each other.
const NIXPKGS_LIB_MARKERS: [&str; 5] = [
    "default.nix",
    "fixed-points.nix",
    "modules.nix",
    "options.nix",
    "types.nix",
];

/// Path fragments, as users give them: separated by commas or whitespace, repeats allowed.
pub fn split_fragments(spec: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in spec.split(|c: char| c == ',' || c.is_whitespace()) {
        if !f.is_empty() && !out.iter().any(|o| o == f) {
            out.push(f.to_owned());
        }
    }
    out
}

#[derive(Debug, Default)]
pub struct Classifier {
    pub library: Vec<String>,
    pub module: Vec<String>,
    /// Directories checked for being nixpkgs' lib root.
    lib_roots: FxHashMap<String, bool>,
}

impl Classifier {
    pub fn new(library: &str, module: &str) -> Classifier {
        Classifier {
            library: split_fragments(library),
            module: split_fragments(module),
            lib_roots: FxHashMap::default(),
        }
    }

    /// The role of a file from its path alone (before it is parsed, or if it never is):
    /// `None` when its code has to decide.
    pub fn by_path(&mut self, path: &str) -> Option<(FileRole, String)> {
        if let Some(f) = NIX_INTERNAL.iter().find(|f| path.contains(*f)) {
            return Some((FileRole::NixInternal, format!("Nix's own file ({f})")));
        }
        if let Some(f) = self.module.iter().find(|f| path.contains(f.as_str())) {
            return Some((FileRole::Module, format!("--module {f}")));
        }
        // nixpkgs' lib is library already; `--library` on it would only make it a helper.
        if let Some(root) = self.nixpkgs_lib_root(path) {
            return Some((
                FileRole::NixpkgsLib,
                format!(
                    "nixpkgs lib ({root} has {})",
                    NIXPKGS_LIB_MARKERS[1..].join(", ")
                ),
            ));
        }
        if let Some(f) = self.library.iter().find(|f| path.contains(f.as_str())) {
            return Some((FileRole::Helper, format!("--library {f}")));
        }
        None
    }

    /// The lib root above `path` if it is part of nixpkgs' `lib/` (its tests excepted: those
    /// are modules and expressions like any user's).
    fn nixpkgs_lib_root(&mut self, path: &str) -> Option<String> {
        if !path.starts_with('/') {
            return None;
        }
        let mut dir = Path::new(path).parent();
        for _ in 0..3 {
            let d = dir?;
            let key = d.to_string_lossy().into_owned();
            let is_root = *self
                .lib_roots
                .entry(key.clone())
                .or_insert_with(|| NIXPKGS_LIB_MARKERS.iter().all(|m| d.join(m).is_file()));
            if is_root {
                let rest = Path::new(path).strip_prefix(d).ok()?;
                return match rest.components().next() {
                    Some(c) if c.as_os_str() == "tests" => None,
                    _ => Some(key),
                };
            }
            dir = d.parent();
        }
        None
    }

    /// The role of a parsed file whose path did not decide, from the shape of its value.
    /// `entry`: the first file parsed (the evaluation starts there).
    pub fn by_shape(shape: &Shape, entry: bool, path: &str) -> (FileRole, String) {
        let p = if shape.params.is_empty() {
            String::new()
        } else {
            format!(" {}", shape.params)
        };
        let sets = |n: u32| if n == 1 { "" } else { "s" };
        if entry {
            return (FileRole::Entry, "the evaluation starts here".into());
        }
        // An expression given on the command line is the user's own code, never a helper.
        if path.starts_with('\u{ab}') {
            return (FileRole::Data, "an expression given to nix".into());
        }
        match shape.kind {
            ShapeKind::NixosModule => (
                FileRole::Module,
                if shape.module_keys && shape.params.is_empty() {
                    "NixOS module: a set of imports/options/config".into()
                } else {
                    format!("NixOS module:{p} …")
                },
            ),
            ShapeKind::Package => (
                FileRole::Package,
                format!("package:{p} a call (callPackage style)"),
            ),
            ShapeKind::Overlay => (FileRole::Overlay, format!("overlay:{p} {{ … }}")),
            ShapeKind::FunctionSet => {
                let mut what = Vec::new();
                if shape.functions > 0 {
                    what.push(format!(
                        "{} function{}",
                        shape.functions,
                        sets(shape.functions)
                    ));
                }
                if shape.reexports > 0 {
                    what.push(format!(
                        "{} re-export{}",
                        shape.reexports,
                        sets(shape.reexports)
                    ));
                }
                if shape.values > 0 {
                    what.push(format!(
                        "{} other value{}",
                        shape.values,
                        sets(shape.values)
                    ));
                }
                if what.is_empty() {
                    what.push("members from other files".to_owned());
                }
                let behind = if p.is_empty() {
                    String::new()
                } else {
                    format!(" behind{p}")
                };
                (
                    FileRole::Helper,
                    format!("helper library: a set of {}{behind}", what.join(", ")),
                )
            }
            ShapeKind::Function => (FileRole::Helper, format!("helper: a function{p} …")),
            ShapeKind::Data => (
                FileRole::Data,
                "a value that is neither module nor helper".into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(kind: ShapeKind, functions: u32, values: u32, params: &str) -> Shape {
        Shape {
            kind,
            functions,
            reexports: 0,
            values,
            module_keys: false,
            params: params.into(),
        }
    }

    #[test]
    fn fragments_split_on_commas_and_spaces() {
        assert_eq!(
            split_fragments("utils.nix,helpers/ mylib.nix,,utils.nix"),
            ["utils.nix", "helpers/", "mylib.nix"]
        );
        assert!(split_fragments("").is_empty());
    }

    #[test]
    fn nix_internal_and_overrides_by_path() {
        let mut c = Classifier::new("helpers/", "utils.nix");
        assert_eq!(
            c.by_path("//builtin/derivation.nix").unwrap().0,
            FileRole::NixInternal
        );
        assert_eq!(
            c.by_path("\u{ab}nix-internal\u{bb}/call-flake.nix")
                .unwrap()
                .0,
            FileRole::NixInternal
        );
        assert_eq!(c.by_path("/cfg/helpers/a.nix").unwrap().0, FileRole::Helper);
        assert_eq!(c.by_path("/cfg/utils.nix").unwrap().0, FileRole::Module);
        // `/lib/` in a path means nothing by itself.
        assert_eq!(c.by_path("/var/lib/nixos-config/modules/a.nix"), None);
    }

    #[test]
    fn nixpkgs_lib_by_its_own_files() {
        let d = tempfile::tempdir().unwrap();
        let lib = d.path().join("var/lib/nixpkgs/lib");
        std::fs::create_dir_all(lib.join("systems")).unwrap();
        std::fs::create_dir_all(lib.join("tests/modules")).unwrap();
        for m in NIXPKGS_LIB_MARKERS {
            std::fs::write(lib.join(m), "{}").unwrap();
        }
        let mut c = Classifier::default();
        let p = |rel: &str| lib.join(rel).to_string_lossy().into_owned();
        assert_eq!(
            c.by_path(&p("modules.nix")).unwrap().0,
            FileRole::NixpkgsLib
        );
        assert_eq!(
            c.by_path(&p("systems/parse.nix")).unwrap().0,
            FileRole::NixpkgsLib
        );
        assert_eq!(c.by_path(&p("tests/modules/a.nix")), None);
        // A directory named lib without nixpkgs' files is nothing special.
        let other = d.path().join("cfg/lib");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("default.nix"), "{}").unwrap();
        assert_eq!(
            c.by_path(&other.join("default.nix").to_string_lossy()),
            None
        );
    }

    #[test]
    fn shapes() {
        let f = |s: &Shape| Classifier::by_shape(s, false, "/c/x.nix").0;
        assert_eq!(
            f(&shape(ShapeKind::FunctionSet, 12, 1, "{ lib }:")),
            FileRole::Helper
        );
        assert_eq!(
            f(&shape(ShapeKind::Function, 0, 0, "name: value:")),
            FileRole::Helper
        );
        assert_eq!(
            f(&shape(
                ShapeKind::NixosModule,
                0,
                3,
                "{ config, lib, ... }:"
            )),
            FileRole::Module
        );
        assert_eq!(
            f(&shape(ShapeKind::Overlay, 0, 2, "final: prev:")),
            FileRole::Overlay
        );
        assert_eq!(
            f(&shape(ShapeKind::Package, 0, 0, "{ writeText }:")),
            FileRole::Package
        );
        assert_eq!(f(&shape(ShapeKind::Data, 0, 4, "")), FileRole::Data);
        // The entry file and command-line expressions are never helpers.
        let helper = shape(ShapeKind::FunctionSet, 3, 0, "");
        assert_eq!(
            Classifier::by_shape(&helper, true, "/c/default.nix").0,
            FileRole::Entry
        );
        assert_eq!(
            Classifier::by_shape(&helper, false, "\u{ab}string\u{bb}").0,
            FileRole::Data
        );
        assert_eq!(
            Classifier::by_shape(
                &shape(ShapeKind::FunctionSet, 12, 1, "{ lib }:"),
                false,
                "/u.nix"
            )
            .1,
            "helper library: a set of 12 functions, 1 other value behind { lib }:"
        );
    }
}
