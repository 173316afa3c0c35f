//! Every HTTP error goes through [`ApiError`]: one place maps a failure to its status and stable
//! code. Bodies are `{"error": {"code": "...", "message": "..."}}`. A 5xx body is opaque: the
//! handler's detail travels in a response extension ([`InternalDetail`]) to the
//! `finalize_errors` middleware, which logs it with the request id and puts only the request id
//! in the body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use meterai_ledger::LedgerError;

/// Why a request failed, as the client sees it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A malformed request: a missing or bad field or header.
    #[error("{message}")]
    BadRequest {
        /// Stable code (e.g. `BAD_ARGUMENT`, `SERIAL_MISTYPED`).
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No or an unknown API key.
    #[error("a valid API key is required (Authorization: Bearer KEY)")]
    Unauthenticated,
    /// Not there, or not yours (the two are not told apart).
    #[error("{message}")]
    NotFound {
        /// Stable code (e.g. `NOT_FOUND`, `SERIAL_UNKNOWN`).
        code: &'static str,
        /// What was not found.
        message: String,
    },
    /// The request conflicts with an earlier one (an Idempotency-Key reused for another request).
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// What conflicts.
        message: String,
    },
    /// Refused whoever asks: a form without its CSRF token.
    #[error("{message}")]
    Forbidden {
        /// Stable code (`CSRF_TOKEN_INVALID`, `BAD_SIGNATURE`).
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Too many attempts (logins); try again later.
    #[error("{message}")]
    RateLimited {
        /// What was limited.
        message: String,
    },
    /// It existed but is no longer served (a download past its retention period).
    #[error("{message}")]
    Gone {
        /// Stable code (`DOCUMENT_EXPIRED`).
        code: &'static str,
        /// What to do instead.
        message: String,
    },
    /// The user has no free unit of quota; nothing was consumed.
    #[error("{message}")]
    QuotaExhausted {
        /// What the ledger said.
        message: String,
    },
    /// The upload is over the configured limit.
    #[error("the upload is larger than {limit_bytes} bytes")]
    TooLarge {
        /// The limit.
        limit_bytes: usize,
    },
    /// The stamping engine refused the input (its stable code: `NOT_PDF`, `BOX_OUTSIDE_PAGE`...).
    #[error("{message}")]
    Refused {
        /// The engine's or ledger's code.
        code: String,
        /// What is wrong with the input.
        message: String,
    },
    /// The payment gateway did not answer; nothing was charged.
    #[error("payment gateway unavailable: {detail}")]
    GatewayUnavailable {
        /// Logged, not shown.
        detail: String,
    },
    /// The database does not answer.
    #[error("not ready: {detail}")]
    Unavailable {
        /// Logged, not shown.
        detail: String,
    },
    /// A bug or an environment failure; the detail is logged, never sent.
    #[error("internal error: {detail}")]
    Internal {
        /// Logged, not shown.
        detail: String,
    },
}

/// The detail of a 5xx response (logged, never sent) and its stable code (sent), carried to
/// the logging middleware.
#[derive(Debug, Clone)]
pub struct InternalDetail(pub String, pub &'static str);

impl ApiError {
    /// Shorthand for a 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest { code, message: message.into() }
    }

    /// Shorthand for a 500 with its (logged) detail.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        ApiError::Internal { detail: detail.to_string() }
    }

    /// A generic 404.
    pub fn not_found(what: &str) -> ApiError {
        ApiError::NotFound { code: "NOT_FOUND", message: format!("no {what} here") }
    }

    /// Rebuilds the error a failed stamping ended with, from its stored code: a replay answers
    /// like the original request did.
    pub fn from_stored(code: &str, message: &str) -> ApiError {
        match code {
            "INSUFFICIENT_QUOTA" => ApiError::QuotaExhausted { message: message.to_string() },
            "INTERNAL" => ApiError::internal(message),
            _ => ApiError::Refused { code: code.to_string(), message: message.to_string() },
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Gone { .. } => StatusCode::GONE,
            ApiError::QuotaExhausted { .. } => StatusCode::PAYMENT_REQUIRED,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable { .. } | ApiError::GatewayUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::NotFound { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::Gone { code, .. } => code,
            ApiError::RateLimited { .. } => "RATE_LIMITED",
            ApiError::Unauthenticated => "UNAUTHENTICATED",
            ApiError::QuotaExhausted { .. } => "INSUFFICIENT_QUOTA",
            ApiError::TooLarge { .. } => "TOO_LARGE",
            ApiError::Refused { code, .. } => code,
            ApiError::Unavailable { .. } => "NOT_READY",
            ApiError::GatewayUnavailable { .. } => "GATEWAY_UNAVAILABLE",
            ApiError::Internal { .. } => "INTERNAL",
        }
    }

    /// The error object `{"code", "message"}`; 5xx messages are generic.
    pub fn body(&self) -> serde_json::Value {
        let message = if self.status().is_server_error() { "internal error".to_string() } else { self.to_string() };
        serde_json::json!({ "code": self.code(), "message": message })
    }

    /// The response with extra members beside `error` (e.g. the failed stamping).
    pub fn into_response_with(self, extra: Option<(&str, serde_json::Value)>) -> Response {
        let mut body = serde_json::json!({ "error": self.body() });
        if let (Some((name, value)), Some(map)) = (extra, body.as_object_mut()) {
            map.insert(name.to_string(), value);
        }
        let mut response = (self.status(), Json(body)).into_response();
        if let ApiError::TooLarge { .. } = self {
            // The rest of the body is never read, so the connection cannot carry another
            // request: say so, or a client reusing it gets a reset on its next request.
            response.headers_mut().insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
        }
        let code = match &self {
            ApiError::Unavailable { .. } => "NOT_READY",
            ApiError::GatewayUnavailable { .. } => "GATEWAY_UNAVAILABLE",
            _ => "INTERNAL",
        };
        if let ApiError::Internal { detail } | ApiError::Unavailable { detail } | ApiError::GatewayUnavailable { detail } = self {
            response.extensions_mut().insert(InternalDetail(detail, code));
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.into_response_with(None)
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> ApiError {
        match e {
            LedgerError::InsufficientQuota { .. } => ApiError::QuotaExhausted { message: e.to_string() },
            LedgerError::TextTooLong { .. } | LedgerError::InvalidText { .. } | LedgerError::InvalidEmail(_) => {
                ApiError::BadRequest { code: e.code(), message: e.to_string() }
            }
            other => ApiError::internal(format!("ledger [{}]: {other}", other.code())),
        }
    }
}
