//! meterai-pdf
