//! The `meterai` command line.

pub mod admin;
pub mod storage;
