//! The files of an evaluation report in one directory: flamegraph.svg, stacks.folded,
//! flamegraph-modules.svg (plugin profiles) and performance-report.md. `nixperf report` and
//! `nixperf analyze` write the same files through here.

use crate::analysis::{findings, functions, modules, stacks};
use crate::profile::Profile;
use std::io;
use std::path::{Path, PathBuf};

/// Where and how much.
pub(crate) struct FileOptions<'a> {
    pub(crate) dir: &'a Path,
    /// Rows of the Markdown report's tables.
    pub(crate) top: usize,
    /// stacks.folded exact and streamed, never collapsed.
    pub(crate) full_stacks: bool,
}

/// What [`write`] wrote, and where.
pub(crate) struct Written {
    pub(crate) svg: PathBuf,
    pub(crate) folded: PathBuf,
    /// The module flamegraph: the owning module as the bottom frame.
    pub(crate) module_svg: PathBuf,
    pub(crate) markdown: PathBuf,
    /// Said when the flamegraphs collapse recursion (`Folded::note`).
    pub(crate) note: Option<String>,
}

/// A file that could not be written, named (the cause is the source).
#[derive(Debug, thiserror::Error)]
#[error("writing {}", path.display())]
pub(crate) struct WriteError {
    path: PathBuf,
    source: io::Error,
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError {
        path: path.to_owned(),
        source,
    }
}

pub(crate) fn write(
    p: &Profile,
    mods: &modules::ModuleTable,
    funcs: &[functions::FunctionRow],
    recs: &[findings::Recommendation],
    o: &FileOptions,
    base: Option<&Path>,
) -> Result<Written, WriteError> {
    let dir = o.dir;
    std::fs::create_dir_all(dir).map_err(at(dir))?;
    let tree = stacks::StackTree::of_profile(p, base);
    let folded = tree.fold(stacks::Collapse::Auto);
    let w = Written {
        svg: dir.join("flamegraph.svg"),
        folded: dir.join("stacks.folded"),
        module_svg: dir.join("flamegraph-modules.svg"),
        markdown: dir.join("performance-report.md"),
        note: p.meta.recursion_fold.note().or_else(|| folded.note()),
    };
    let file = std::fs::File::create(&w.folded).map_err(at(&w.folded))?;
    if o.full_stacks {
        tree.write_exact(file)
    } else {
        folded.write_text(io::BufWriter::new(file))
    }
    .map_err(at(&w.folded))?;
    let weight = stacks::Weight::of(p);
    let title = format!(
        "Nix evaluation {}{}{}",
        crate::units::fmt_ns(mods.total_ns),
        match weight {
            stacks::Weight::Ns => String::new(),
            w => format!(" (width: {}, Nix's built-in profiler)", w.unit()),
        },
        if p.meta.status.is_partial() {
            " (partial)"
        } else {
            ""
        }
    );
    let svg = std::fs::File::create(&w.svg).map_err(at(&w.svg))?;
    super::flamegraph::write_svg(
        &folded,
        &title,
        weight.unit(),
        w.note.as_deref(),
        io::BufWriter::new(svg),
    )
    .map_err(at(&w.svg))?;
    if p.meta.source.is_plugin() {
        let by_module = stacks::folded_by_module(p, base);
        let svg = std::fs::File::create(&w.module_svg).map_err(at(&w.module_svg))?;
        super::flamegraph::write_svg(
            &by_module,
            &format!("{title}: by module (helpers rolled up)"),
            weight.unit(),
            by_module.note().as_deref(),
            io::BufWriter::new(svg),
        )
        .map_err(at(&w.module_svg))?;
    }
    std::fs::write(
        &w.markdown,
        super::markdown::eval_report(&p.meta, mods, funcs, recs, o.top, base),
    )
    .map_err(at(&w.markdown))?;
    Ok(w)
}
