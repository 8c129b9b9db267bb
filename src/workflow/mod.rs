//! The `nixperf analyze` workflow: run the sections (evaluation, build, store, settings), turn
//! their numbers into one ranked list of problems, write the reports, and apply the safe fixes
//! with consent and an undo record.

pub(crate) mod analysis;
pub(crate) mod analyze;
pub(crate) mod apply;
pub mod nixconf_edit;
pub(crate) mod problems;
pub(crate) mod store_target;
pub(crate) mod target;
pub(crate) mod undo;
