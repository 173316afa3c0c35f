//! meterai-stamp: the e-Meterai stamping engine.
//!
//! Draws the visible mark, places it with a PAdES signature in an incremental update, and verifies
//! signatures in stamped documents. It joins `meterai-pdf` (syntax) and `meterai-sign` (CMS).

pub mod appearance;
mod font;
pub mod engine;
pub mod error;
mod input_digest;
pub mod placement;
pub mod verify;

pub use error::StampError;
pub use input_digest::InputDigest;
