//! meterai-core: the domain types every other layer shares.
//!
//! No I/O and no async here: serial numbers ([`serial`]), the official document types
//! ([`doc_type`]), lowercase [`hex`], time as an injected [`clock::Clock`], rupiah amounts
//! ([`money`]), and the payment gateway's signature and amount format ([`midtrans`]).

pub mod clock;
pub mod doc_type;
pub mod hex;
pub mod midtrans;
pub mod money;
pub mod serial;

pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use doc_type::{DocType, DocTypeError};
pub use money::{Rupiah, STAMP_DUTY};
pub use serial::{SERIAL_CHARS, Serial, SerialError, SerialKey};
