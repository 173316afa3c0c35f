//! meterai-pdf: PDF syntax for the e-Meterai stamping engine. Bytes in, bytes out, no I/O.
//!
//! - [`Document`] is a lazy reader: opening parses the header, the cross-reference chain and the
//!   trailer; objects are parsed on request and cached. Damaged files are repaired by scanning.
//! - The standard security handler (R2-R6; RC4, AES-128, AES-256) decrypts transparently.
//! - [`IncrementalUpdate`] appends new/changed objects and a cross-reference section of the
//!   same kind as the original, returning only the bytes to append.
//! - Every structural limit is a named constant in [`limits`]; hostile input yields a
//!   [`PdfError`] (see [`PdfError::code`]), never a panic or a hang.
//!
//! ```
//! use meterai_pdf::{Dict, Document, IncrementalUpdate, Object};
//!
//! # fn stamp(input: &[u8]) -> Result<Vec<u8>, meterai_pdf::PdfError> {
//! let doc = Document::open(input, None)?;
//! let page = doc.page(0)?;
//! let mut up = IncrementalUpdate::new(&doc);
//! let annot = up.alloc();
//! up.put(annot, Object::Dict(Dict::new()));
//! let mut page_dict = page.dict.clone();
//! page_dict.insert(b"Annots".to_vec(), Object::Array(vec![Object::Ref(annot)]));
//! up.put(page.obj, Object::Dict(page_dict));
//! let appended = up.finish()?;
//! let mut output = input.to_vec(); // the caller decides how to store input + tail
//! output.extend_from_slice(&appended.tail);
//! # Ok(output)
//! # }
//! ```

mod budget;
mod bytes;
mod crypt;
mod document;
mod error;
mod filters;
pub mod limits;
mod object;
mod pages;
mod parser;
mod repair;
mod serialize;
mod stream;
mod writer;
mod xref;

pub use crypt::{Cipher, EncryptionInfo};
pub use document::{Document, XrefSection};
pub use error::PdfError;
pub use object::{Dict, ObjRef, Object, PdfString, Rect, Stream};
pub use pages::Page;
pub use serialize::serialize;
pub use writer::{Appended, IncrementalUpdate};
pub use xref::XrefKind;
