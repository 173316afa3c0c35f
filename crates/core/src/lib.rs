//! meterai-core
