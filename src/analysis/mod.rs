//! Analyses over a [`Profile`](crate::profile::Profile): pure functions from the model to
//! report data, no I/O.

pub mod findings;
mod fold;
pub mod functions;
pub mod modules;
pub mod paths;
pub mod stacks;
pub(crate) mod tree;
pub(crate) mod why;
