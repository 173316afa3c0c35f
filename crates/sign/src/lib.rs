//! meterai-sign
