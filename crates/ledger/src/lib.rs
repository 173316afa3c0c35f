//! meterai-ledger
