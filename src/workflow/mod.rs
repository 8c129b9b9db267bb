//! The `nixperf analyze` workflow: run the sections (evaluation, build, store, settings), turn
//! their numbers into one ranked list of problems, write the reports, and apply the safe fixes
//! with consent and an undo record.

pub mod apply;
pub mod nixconf_edit;
pub mod problems;
pub mod report;
pub mod store_target;
pub mod target;
pub mod undo;
