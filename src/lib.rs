//! kiln: a static compiler for GitOps repositories.
//!
//! The code follows the data, `discover -> load -> render -> secrets -> validate -> emit
//! -> diff`; this version has the stages that check a repository. See ARCHITECTURE.md
//! for the map of modules and the invariants they keep.

#![warn(missing_docs)]

pub mod cache;
pub mod cli;
pub mod codeowners;
pub mod commands;
pub mod diagnostics;
pub mod diff;
pub mod discover;
pub mod fs;
pub mod load;
pub mod project;
pub mod publish;
pub mod render;
pub mod secrets;
pub mod validate;
pub mod yaml;
