//! Stream decoding: resolves the /Filter chain of a stream dictionary and runs the decoders.

use crate::error::PdfError;
use crate::filters;
use crate::limits::FILTER_CHAIN_MAX;
use crate::object::{Dict, Object};

/// Decode `raw` through the filters named in `dict`. `deref` resolves indirect /Filter and
/// /DecodeParms values (identity for xref streams, whose entries must be direct).
pub(crate) fn decode(
    dict: &Dict,
    raw: &[u8],
    deref: &dyn Fn(&Object) -> Result<Object, PdfError>,
) -> Result<Vec<u8>, PdfError> {
    let filter = match dict.get(b"Filter").or_else(|| dict.get(b"F")) {
        Some(f) => deref(f)?,
        None => Object::Null,
    };
    let parms = match dict.get(b"DecodeParms").or_else(|| dict.get(b"DP")) {
        Some(p) => deref(p)?,
        None => Object::Null,
    };
    let names: Vec<Object> = match filter {
        Object::Null => return Ok(raw.to_vec()),
        Object::Name(n) => vec![Object::Name(n)],
        Object::Array(a) => a,
        _ => return Err(PdfError::malformed("/Filter is neither a name nor an array")),
    };
    if names.len() > FILTER_CHAIN_MAX {
        return Err(PdfError::LimitExceeded("filter chain longer than FILTER_CHAIN_MAX"));
    }
    let parms: Vec<Object> = match parms {
        Object::Array(a) => a,
        other => vec![other],
    };
    let mut data = std::borrow::Cow::Borrowed(raw);
    for (i, name) in names.iter().enumerate() {
        let name = deref(name)?;
        let name = name.as_name().ok_or_else(|| PdfError::malformed("filter name is not a name"))?;
        let p = match parms.get(i) {
            Some(p) => deref(p)?,
            None => Object::Null,
        };
        if name == b"Crypt" {
            // Only the Identity crypt filter can appear here: the document-level handler has
            // already decrypted the data with the default filter.
            let crypt_name = p.as_dict().and_then(|d| d.get_name(b"Name")).unwrap_or(b"Identity");
            if crypt_name == b"Identity" {
                continue;
            }
            return Err(PdfError::UnsupportedFilter("Crypt (named crypt filter)".into()));
        }
        data = std::borrow::Cow::Owned(filters::apply(name, p.as_dict(), &data)?);
    }
    Ok(data.into_owned())
}
