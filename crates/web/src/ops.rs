//! Operations endpoints: liveness, readiness, metrics, and the 404 for unknown paths.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::AppState;
use crate::error::ApiError;

/// The process is up (no dependency is checked: a slow database must not get us restarted).
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// The database answers: send traffic here.
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.ledger.store().ping().await.map_err(|e| ApiError::Unavailable { detail: format!("database: {e}") })?;
    Ok("ready\n")
}

/// Prometheus text format; the stock level is read now.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let stock = match state.ledger.stock_level().await {
        Ok(level) => Some(level),
        Err(e) => {
            tracing::warn!("metrics: stock level unavailable: {e}");
            None
        }
    };
    let units = match state.ledger.quota_units().await {
        Ok(units) => Some(units),
        Err(e) => {
            tracing::warn!("metrics: quota units unavailable: {e}");
            None
        }
    };
    let mut text = state.metrics.render(stock, units, state.ledger.batch_rollbacks());
    match state.ledger.order_stats().await {
        Ok(stats) => text.push_str(&crate::metrics::render_orders(&stats, state.clock.now())),
        Err(e) => tracing::warn!("metrics: order counts unavailable: {e}"),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
}

/// Any path we do not serve.
pub async fn not_found() -> ApiError {
    ApiError::not_found("such page")
}
