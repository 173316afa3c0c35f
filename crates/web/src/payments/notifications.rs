//! The notification receiver: `POST {notification_path}`, never behind a login.
//!
//! A notification is a hint: its signature does not cover `transaction_status`, so a genuine
//! body replayed with another status still verifies. The receiver checks what it can (JSON
//! shape, signature in constant time, a known order, the order's amount), keeps every body raw
//! in the inbox (deduplicated; bad ones too, marked), answers at once, and only then asks the
//! gateway's status API in a task of its own; the order moves on that answer alone.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use meterai_ledger::payments_inbox::{Stored, Verdict};

use super::midtrans::Notification;
use crate::AppState;
use crate::blobs::sha256;
use crate::error::ApiError;

/// Largest notification body accepted, in bytes: Midtrans's are about 1 KB.
pub const NOTIFICATION_BYTES_MAX: usize = 16 * 1024;

/// Receives one notification.
pub async fn receive(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(e) => return super::api::body_error(e, NOTIFICATION_BYTES_MAX).into_response(),
    };
    match receive_inner(&state, &body).await {
        Ok(()) => Json(serde_json::json!({ "status": "received" })).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn receive_inner(state: &AppState, body: &[u8]) -> Result<(), ApiError> {
    let payments = state
        .payments()
        .ok_or_else(|| ApiError::not_found("payment gateway"))?;
    let hash = sha256(body);
    let keep = |order_id: Option<&str>, status: Option<&str>, verdict: Verdict| {
        let ledger = state.ledger.clone();
        let body = body.to_vec();
        let (order_id, status) = (order_id.map(str::to_string), status.map(str::to_string));
        async move {
            ledger
                .store_notification(
                    &body,
                    &hash,
                    order_id.as_deref(),
                    status.as_deref(),
                    verdict,
                )
                .await
        }
    };
    let Some(n) = Notification::parse(body) else {
        keep(None, None, Verdict::Malformed).await?;
        return Err(ApiError::bad_request(
            "MALFORMED_NOTIFICATION",
            "not a payment notification (JSON with order_id, status_code, gross_amount, signature_key, transaction_status)",
        ));
    };
    let (order_id, status) = (
        Some(n.order_id.as_str()),
        Some(n.transaction_status.as_str()),
    );
    if !n.is_signed_with(&payments.config.server_key) {
        keep(order_id, status, Verdict::Forged).await?;
        return Err(ApiError::Forbidden {
            code: "BAD_SIGNATURE",
            message: "the signature_key does not match".into(),
        });
    }
    let Some(order) = state.ledger.order(&n.order_id).await? else {
        keep(order_id, status, Verdict::UnknownOrder).await?;
        return Err(ApiError::NotFound {
            code: "ORDER_NOT_FOUND",
            message: format!("no order {}", n.order_id),
        });
    };
    if n.amount() != Some(order.gross_amount) {
        keep(order_id, status, Verdict::WrongAmount).await?;
        return Err(ApiError::Refused {
            code: "WRONG_AMOUNT".into(),
            message: format!("gross_amount {} is not the order's", n.gross_amount),
        });
    }
    match keep(order_id, status, Verdict::Genuine).await? {
        Stored::Duplicate(_) => {}
        Stored::New(inbox_id) => {
            let state = state.clone();
            let order_id = order.id.clone();
            tokio::spawn(async move {
                let Some(payments) = state.payments() else {
                    return;
                };
                let _running = state.in_flight.enter();
                let outcome = match payments.confirm(&state.ledger, &order_id).await {
                    Ok(confirmed) => confirmed.describe(),
                    Err(e) => format!("error [{}]: {e}", e.code()),
                };
                if let Err(e) = state
                    .ledger
                    .notification_processed(inbox_id, &outcome)
                    .await
                {
                    tracing::warn!(order = order_id, "recording a notification's outcome: {e}");
                }
            });
        }
    }
    Ok(())
}
