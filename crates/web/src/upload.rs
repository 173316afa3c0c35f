//! Reading an uploaded PDF: a multipart form (field `file` plus small text fields) or a raw
//! `application/pdf` body, within the configured size limit.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;

use crate::error::ApiError;

/// Longest text field of a form, in bytes (document numbers, dates, boxes are far shorter).
pub const FORM_FIELD_BYTES_MAX: usize = 1024;
/// Most fields one form may carry: ours has seven.
pub const FORM_FIELDS_MAX: usize = 32;
/// Longest uploaded file name kept, in characters.
pub const FILE_NAME_CHARS_MAX: usize = 200;

/// An uploaded file and the form's text fields.
#[derive(Debug, Default)]
pub struct Upload {
    /// The file's bytes.
    pub file: Vec<u8>,
    /// The file's name as the client gave it (or "document.pdf").
    pub file_name: String,
    /// Text fields by name.
    pub fields: BTreeMap<String, String>,
}

impl Upload {
    /// A text field, trimmed; `None` when absent or empty.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
    }
}

/// Reads the request body as an upload; `limit_bytes` bounds the file.
pub async fn read_upload(request: Request, limit_bytes: usize) -> Result<Upload, ApiError> {
    let content_type = request.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(request, &()).await.map_err(|e| ApiError::bad_request("BAD_UPLOAD", e.body_text()))?;
        return read_multipart(multipart, limit_bytes).await;
    }
    if content_type.starts_with("application/pdf") || content_type.starts_with("application/octet-stream") {
        let bytes = Bytes::from_request(request, &()).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge { limit_bytes }
            } else {
                ApiError::bad_request("BAD_UPLOAD", e.body_text())
            }
        })?;
        if bytes.len() > limit_bytes {
            return Err(ApiError::TooLarge { limit_bytes });
        }
        return Ok(Upload { file: bytes.to_vec(), file_name: "document.pdf".into(), fields: BTreeMap::new() });
    }
    Err(ApiError::bad_request("BAD_UPLOAD", "send multipart/form-data with a `file` field, or an application/pdf body"))
}

async fn read_multipart(mut multipart: Multipart, limit_bytes: usize) -> Result<Upload, ApiError> {
    let mut upload = Upload::default();
    let mut have_file = false;
    let mut too_large = false;
    let mut fields = 0usize;
    let too_large_or_bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge { limit_bytes }
        } else {
            ApiError::bad_request("BAD_UPLOAD", e.body_text())
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(too_large_or_bad)? {
        fields += 1;
        if fields > FORM_FIELDS_MAX {
            return Err(ApiError::bad_request("BAD_UPLOAD", format!("more than {FORM_FIELDS_MAX} form fields")));
        }
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            if have_file {
                return Err(ApiError::bad_request("BAD_UPLOAD", "more than one `file` field"));
            }
            have_file = true;
            upload.file_name = field.file_name().map(|n| n.chars().filter(|c| !c.is_control()).take(FILE_NAME_CHARS_MAX).collect()).unwrap_or_default();
            if upload.file_name.trim().is_empty() {
                upload.file_name = "document.pdf".into();
            }
            while let Some(chunk) = field.chunk().await.map_err(too_large_or_bad)? {
                if upload.file.len() + chunk.len() > limit_bytes {
                    too_large = true;
                    break;
                }
                upload.file.extend_from_slice(&chunk);
            }
            if too_large {
                while let Ok(Some(_)) = field.chunk().await {}
                break;
            }
        } else {
            let mut value = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(too_large_or_bad)? {
                if value.len() + chunk.len() > FORM_FIELD_BYTES_MAX {
                    return Err(ApiError::bad_request("BAD_ARGUMENT", format!("field {name:?} is longer than {FORM_FIELD_BYTES_MAX} bytes")));
                }
                value.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(value).map_err(|_| ApiError::bad_request("BAD_ARGUMENT", format!("field {name:?} is not UTF-8")))?;
            upload.fields.insert(name, text);
        }
    }
    if too_large {
        // Read and drop the rest of the form before answering: a client still sending its body
        // would otherwise see a reset connection instead of our 413. Bounded by the router's
        // body limit (the upload limit plus MULTIPART_OVERHEAD_BYTES_MAX).
        while let Ok(Some(mut rest)) = multipart.next_field().await {
            while let Ok(Some(_)) = rest.chunk().await {}
        }
        return Err(ApiError::TooLarge { limit_bytes });
    }
    if !have_file {
        return Err(ApiError::bad_request("FILE_MISSING", "the form has no `file` field"));
    }
    Ok(upload)
}
