//! The HTTP surface: Snap's create-transaction call, the payment page, the status API, and the
//! test controls.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use meterai_core::Rupiah;
use serde::Deserialize;

use crate::pages;
use crate::transactions::{Action, CreateError, Shared};
use crate::{BODY_BYTES_MAX, DEFAULT_EXPIRY_MINUTES, Sandbox};

type AppState = Arc<Shared>;

pub(crate) fn router(sandbox: Sandbox) -> Router {
    let shared = sandbox.0.clone();
    // Unpaid transactions expire on time even if nobody looks at them.
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let weak = Arc::downgrade(&shared);
        runtime.spawn(async move {
            let mut ticker =
                tokio::time::interval(std::time::Duration::from_millis(EXPIRY_TICK_MS));
            loop {
                ticker.tick().await;
                match weak.upgrade() {
                    Some(shared) => shared.expire_due(),
                    None => return,
                }
            }
        });
    }
    Router::new()
        .route("/snap/v1/transactions", post(create_transaction))
        .route("/snap/v4/redirection/{token}", get(payment_page))
        .route("/snap/v4/redirection/{token}/{action}", post(page_action))
        .route("/v2/{order_id}/status", get(status))
        .route("/sandbox/outage", post(outage))
        .route("/sandbox/stats", get(stats))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .with_state(shared)
}

/// How often unpaid transactions are checked for expiry, in milliseconds (real time).
const EXPIRY_TICK_MS: u64 = 100;

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "status_code": status.as_u16().to_string(), "error_messages": [message] }))).into_response()
}

/// HTTP Basic with the server key as user and an empty password.
fn authorized(headers: &HeaderMap, server_key: &str) -> bool {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{server_key}:"))
    );
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|given| given == expected)
}

#[derive(Debug, Deserialize)]
struct CreateRequest {
    transaction_details: TransactionDetails,
    #[serde(default)]
    expiry: Option<Expiry>,
    #[serde(default)]
    callbacks: Option<Callbacks>,
}

#[derive(Debug, Deserialize)]
struct TransactionDetails {
    order_id: String,
    gross_amount: i64,
}

#[derive(Debug, Deserialize)]
struct Expiry {
    unit: String,
    duration: u64,
}

#[derive(Debug, Deserialize)]
struct Callbacks {
    #[serde(default)]
    finish: Option<String>,
}

/// Midtrans's limits on an order id: 1-50 of letters, digits, `-`, `_`, `~`, `.`.
fn valid_order_id(id: &str) -> bool {
    (1..=50).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_~.".contains(&b))
}

async fn create_transaction(
    State(shared): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if shared.in_outage() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "sandbox outage");
    }
    if !authorized(&headers, &shared.config.server_key) {
        return error(
            StatusCode::UNAUTHORIZED,
            "Access denied due to unauthorized transaction, please check client or server key",
        );
    }
    let request: CreateRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid request: {e}")),
    };
    let details = &request.transaction_details;
    if !valid_order_id(&details.order_id) {
        return error(
            StatusCode::BAD_REQUEST,
            "transaction_details.order_id is invalid",
        );
    }
    if details.gross_amount < 1 {
        return error(
            StatusCode::BAD_REQUEST,
            "transaction_details.gross_amount must be at least 1",
        );
    }
    let minutes = match &request.expiry {
        None => DEFAULT_EXPIRY_MINUTES as f64,
        Some(e) => match e.unit.as_str() {
            "minute" | "minutes" => e.duration as f64,
            "hour" | "hours" => e.duration as f64 * 60.0,
            "day" | "days" => e.duration as f64 * 1440.0,
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "expiry.unit must be minute, hour or day",
                );
            }
        },
    };
    let notification_url = headers
        .get("X-Override-Notification")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string());
    let finish = request.callbacks.and_then(|c| c.finish);
    match shared.create(
        &details.order_id,
        Rupiah(details.gross_amount),
        minutes,
        notification_url,
        finish,
    ) {
        Ok(tx) => {
            let redirect_url = format!(
                "{}/snap/v4/redirection/{}",
                shared.config.public_url.trim_end_matches('/'),
                tx.token
            );
            (
                StatusCode::CREATED,
                Json(serde_json::json!({ "token": tx.token, "redirect_url": redirect_url })),
            )
                .into_response()
        }
        Err(CreateError::Duplicate) => error(
            StatusCode::BAD_REQUEST,
            "transaction_details.order_id sudah digunakan",
        ),
    }
}

async fn payment_page(State(shared): State<AppState>, Path(token): Path<String>) -> Response {
    match shared.by_token(&token) {
        Some(tx) => Html(pages::payment_page(&tx)).into_response(),
        None => (StatusCode::NOT_FOUND, Html(pages::not_found())).into_response(),
    }
}

async fn page_action(
    State(shared): State<AppState>,
    Path((token, action)): Path<(String, String)>,
) -> Response {
    let (Some(tx), Some(action)) = (shared.by_token(&token), Action::parse(&action)) else {
        return (StatusCode::NOT_FOUND, Html(pages::not_found())).into_response();
    };
    let after = match shared.act(&shared, &tx.order_id, action) {
        Ok(tx) => tx,
        // A second click, or the time ran out: show where it stands.
        Err(_) => match shared.transaction(&tx.order_id) {
            Some(tx) => tx,
            None => return (StatusCode::NOT_FOUND, Html(pages::not_found())).into_response(),
        },
    };
    match &after.finish_url {
        Some(finish) => {
            let separator = if finish.contains('?') { '&' } else { '?' };
            let url = format!(
                "{finish}{separator}order_id={}&status_code={}&transaction_status={}",
                after.order_id,
                after.status.status_code(),
                after.status.as_str()
            );
            Redirect::to(&url).into_response()
        }
        None => Html(pages::payment_page(&after)).into_response(),
    }
}

async fn status(
    State(shared): State<AppState>,
    headers: HeaderMap,
    Path(order_id): Path<String>,
) -> Response {
    if shared.in_outage() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "sandbox outage");
    }
    if !authorized(&headers, &shared.config.server_key) {
        return error(
            StatusCode::UNAUTHORIZED,
            "Access denied due to unauthorized transaction, please check client or server key",
        );
    }
    match shared.transaction(&order_id) {
        Some(tx) => {
            let mut body = tx.to_json(&shared.config.server_key);
            body["status_message"] = "Success, transaction is found".into();
            Json(body).into_response()
        }
        // Midtrans answers 200 with status_code "404" in the body; the HTTP status says it too.
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "status_code": "404", "status_message": "Transaction doesn't exist." })),
        )
            .into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct OutageQuery {
    on: bool,
}

async fn outage(State(shared): State<AppState>, Query(q): Query<OutageQuery>) -> StatusCode {
    shared.set_outage(q.on);
    StatusCode::NO_CONTENT
}

async fn stats(State(shared): State<AppState>) -> Json<crate::notifier::Stats> {
    Json(shared.notifier.stats())
}
