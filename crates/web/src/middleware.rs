//! The middleware stack: request ids, tracing spans, per-route counters, opaque 5xx bodies with
//! the detail logged, panics turned into 500s, and a request timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::AppState;
use crate::error::{ApiError, InternalDetail};

/// The header carrying the request id (set when the client sent none, echoed back).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Request ids `{prefix}-{counter}`: the prefix is random per process so ids from several nodes
/// or restarts do not collide in the logs.
#[derive(Debug, Clone)]
struct CountingIds {
    /// Per-process prefix.
    prefix: Arc<str>,
    /// Requests numbered so far.
    next: Arc<AtomicU64>,
}

impl MakeRequestId for CountingIds {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix)).ok().map(RequestId::new)
    }
}

/// Wraps the routes in the stack (outermost first: request id, trace, propagate id, opaque 5xx,
/// catch panic, timeout).
pub fn wrap(routes: Router, state: &AppState, timeout: Duration) -> Router {
    let prefix: String = state.ids.next_id().map(|id| id.to_string()[..8].to_string()).unwrap_or_else(|| "req".into());
    let ids = CountingIds { prefix: prefix.into(), next: Arc::new(AtomicU64::new(1)) };
    let header = axum::http::HeaderName::from_static(REQUEST_ID_HEADER);
    // Router::layer wraps outside what is already there: add innermost first.
    routes
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(finalize_errors))
        .layer(PropagateRequestIdLayer::new(header.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<axum::body::Body>| {
                    let id = req.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(), request_id = %id)
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(header, ids))
}

fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    ApiError::internal(format!("panic: {what}")).into_response()
}

/// Logs the detail of every 5xx with the request id, and answers with the request id only.
async fn finalize_errors(request: Request, next: Next) -> Response {
    let request_id = request.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
    let response = next.run(request).await;
    let Some(InternalDetail(detail, code)) = response.extensions().get::<InternalDetail>().cloned() else {
        return response;
    };
    let status = response.status();
    tracing::error!(request_id = %request_id, status = status.as_u16(), "{detail}");
    let body = serde_json::json!({
        "error": { "code": code, "message": "internal error", "request_id": request_id }
    });
    (status, axum::Json(body)).into_response()
}

/// Counts each matched request by its route template and status, with its duration.
pub async fn count_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.record_request(&route, response.status().as_u16(), started.elapsed());
    response
}
