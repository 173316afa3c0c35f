//! JSON API for buying quota (API keys): `POST /api/v1/orders`, `GET /api/v1/orders`,
//! `GET /api/v1/orders/{id}`, `GET /api/v1/orders/{id}/receipt.pdf`, and the public
//! `GET /api/v1/stock`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use meterai_core::midtrans::format_gross_amount;
use meterai_ledger::orders::Order;

use super::receipt;
use crate::AppState;
use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::time::iso8601;

/// Largest order request body, in bytes (`{"units": N}`).
pub const ORDER_REQUEST_BYTES_MAX: usize = 1024;

/// A body that could not be read: over `limit_bytes` (413 `TOO_LARGE`, JSON like every other
/// error) or broken off.
pub fn body_error(rejection: BytesRejection, limit_bytes: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge { limit_bytes }
    } else {
        ApiError::bad_request("BAD_BODY", rejection.body_text())
    }
}

/// An order as the API shows it.
pub fn order_json(order: &Order) -> serde_json::Value {
    serde_json::json!({
        "id": order.id,
        "state": order.state.as_str(),
        "units": order.units,
        "unit_price": order.unit_price.0,
        "fee": order.fee.0,
        "gross_amount": order.gross_amount.0,
        "gross_amount_text": format_gross_amount(order.gross_amount),
        "currency": "IDR",
        "payment_url": order.redirect_url,
        "gateway_status": order.gateway_status,
        "pay_by": iso8601(order.pay_by),
        "created_at": iso8601(order.created_at),
        "paid_at": order.paid_at.map(iso8601),
        "credited_at": order.credited_at.map(iso8601),
        "receipt_url": (order.credit_transfer_id.is_some()).then(|| format!("/api/v1/orders/{}/receipt.pdf", order.id)),
    })
}

/// `POST /api/v1/orders` `{"units": N}`: holds the stock and opens the payment; `201` with the
/// order and its `payment_url`. `409 OUT_OF_STOCK` before anything is charged.
pub async fn create(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    body: Bytes,
) -> Result<Response, ApiError> {
    if body.len() > ORDER_REQUEST_BYTES_MAX {
        return Err(ApiError::TooLarge {
            limit_bytes: ORDER_REQUEST_BYTES_MAX,
        });
    }
    let request: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("BAD_JSON", format!("the body is not JSON: {e}")))?;
    let units = request["units"]
        .as_i64()
        .ok_or_else(|| ApiError::bad_request("INVALID_UNITS", "units must be a whole number"))?;
    let order = place_order(&state, &user, units).await?;
    Ok((StatusCode::CREATED, Json(order_json(&order))).into_response())
}

/// Orders `units` for `user` (the API and the portal's order form both come here): holds the
/// stock and opens the gateway's payment. 404 when no gateway is configured, `409
/// OUT_OF_STOCK` before anything is charged.
pub async fn place_order(
    state: &AppState,
    user: &meterai_ledger::User,
    units: i64,
) -> Result<Order, ApiError> {
    let payments = state
        .payments()
        .ok_or_else(|| ApiError::not_found("payment gateway"))?;
    payments
        .create_order(
            &state.ledger,
            state.ids.as_ref(),
            &state.config.public_url,
            user,
            units,
        )
        .await
}

/// The caller's order, or 404 (another user's orders are not told apart from missing ones).
pub async fn owned_order(state: &AppState, user_id: i64, id: &str) -> Result<Order, ApiError> {
    match state.ledger.order(id).await? {
        Some(order) if order.user_id == user_id => Ok(order),
        _ => Err(ApiError::NotFound {
            code: "ORDER_NOT_FOUND",
            message: format!("no order {id}"),
        }),
    }
}

/// `GET /api/v1/orders/{id}`.
pub async fn get(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(order_json(&owned_order(&state, user.id, &id).await?)))
}

/// `GET /api/v1/orders`: the caller's latest orders.
pub async fn list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    let orders = state
        .ledger
        .orders_of(user.id, meterai_ledger::orders::ORDERS_PAGE_MAX)
        .await?;
    Ok(Json(
        serde_json::json!({ "orders": orders.iter().map(order_json).collect::<Vec<_>>() }),
    ))
}

/// `GET /api/v1/orders/{id}/receipt.pdf`: the receipt of a credited order (`409
/// NOT_CREDITED` before).
pub async fn receipt_pdf(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let order = owned_order(&state, user.id, &id).await?;
    receipt_pdf_of(&order, &user.email)
}

/// The receipt of `order`, or `409 NOT_CREDITED` before it is credited.
pub fn receipt_of(order: &Order, buyer_email: &str) -> Result<receipt::Receipt, ApiError> {
    receipt::Receipt::of(order, buyer_email).ok_or_else(|| ApiError::Conflict {
        code: "NOT_CREDITED",
        message: format!("order {} is {}: no receipt yet", order.id, order.state),
    })
}

/// The receipt PDF download of `order` (the API's and the portal's).
pub fn receipt_pdf_of(order: &Order, buyer_email: &str) -> Result<Response, ApiError> {
    let pdf = receipt::pdf(&receipt_of(order, buyer_email)?);
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"receipt-{}.pdf\"", order.id),
            ),
        ],
        pdf,
    )
        .into_response())
}

/// `GET /api/v1/stock`: units that can still be bought (public: buyers see it before paying).
pub async fn stock(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let level = state.ledger.stock_level().await?;
    let price = state
        .payments()
        .map(|p| (p.config.unit_price.0, p.config.fee.0));
    Ok(Json(serde_json::json!({
        "available": level,
        "unit_price": price.map(|p| p.0),
        "fee": price.map(|p| p.1),
        "currency": "IDR",
    })))
}
