//! meterai-stamp
