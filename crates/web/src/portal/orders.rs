//! Buying quota on the portal: the order form (price and stock shown before paying), the
//! order page the gateway sends the buyer back to (live status), the list of the user's
//! orders, and the receipt (page and PDF). Orders are placed and receipts made by the same
//! functions the API uses ([`crate::payments::api`]); another user's orders are 404.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use meterai_ledger::orders::{ORDER_UNITS_MAX, ORDERS_PAGE_MAX, Order, OrderState};

use crate::AppState;
use crate::error::ApiError;
use crate::html::escape;
use crate::i18n::Lang;
use crate::payments::api::{owned_order, place_order, receipt_of, receipt_pdf_of};
use crate::portal::{csrf_input, layout, page_or_error};
use crate::session::PortalUser;
use crate::time::iso8601;

/// While an order is open its page reloads itself this often, in seconds.
pub const ORDER_PAGE_REFRESH_SECS: u32 = 2;

/// Whole rupiah the Indonesian way: `Rp 32.500`.
pub fn rupiah(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    let sign = if amount < 0 { "-" } else { "" };
    format!("Rp {sign}{grouped}")
}

/// How an order's state reads to the buyer.
fn state_text(state: OrderState, lang: Lang) -> &'static str {
    let (id, en) = match state {
        OrderState::Created => ("dibuat", "created"),
        OrderState::Pending => ("menunggu pembayaran", "awaiting payment"),
        OrderState::Paid => (
            "dibayar, kuota sedang ditambahkan",
            "paid, quota being added",
        ),
        OrderState::Credited => ("lunas, kuota sudah ditambahkan", "paid, quota added"),
        OrderState::Expired => ("kedaluwarsa", "expired"),
        OrderState::Cancelled => ("dibatalkan", "cancelled"),
        OrderState::Denied => ("ditolak", "denied"),
        OrderState::Refunded => ("dana dikembalikan", "refunded"),
    };
    if lang == Lang::Id { id } else { en }
}

fn state_span(order: &Order, lang: Lang) -> String {
    format!(
        "<span id=\"order-state\" data-state=\"{}\">{}</span>",
        order.state.as_str(),
        state_text(order.state, lang)
    )
}

/// The order form's fields (all optional so a missing one is our error, not a framework
/// rejection).
#[derive(Debug, Default, serde::Deserialize)]
pub struct OrderForm {
    #[serde(default)]
    units: String,
    #[serde(default)]
    csrf: Option<String>,
}

/// The order form, with `error` (already a page-ready message) above it.
async fn order_form(
    state: &AppState,
    user: &PortalUser,
    units: &str,
    error: Option<(StatusCode, &str)>,
) -> Result<Response, ApiError> {
    let lang = user.lang;
    let payments = state
        .payments()
        .ok_or_else(|| ApiError::not_found("payment gateway"))?;
    let (unit_price, fee) = (payments.config.unit_price.0, payments.config.fee.0);
    let stock = state.ledger.stock_level().await?;
    let units_max = stock.clamp(0, ORDER_UNITS_MAX);
    let shown_units: i64 = units.trim().parse().unwrap_or(1).clamp(1, ORDER_UNITS_MAX);
    let mut body = String::new();
    if let Some((_, message)) = error {
        body.push_str(&format!(
            "<p id=\"form-error\" class=\"error\">{}</p>",
            escape(message)
        ));
    }
    if stock <= 0 {
        body.push_str(&format!(
            "<p id=\"out-of-stock\" class=\"error\">{}</p>",
            lang.t("out_of_stock")
        ));
    }
    body.push_str(&format!(
        "<form id=\"order-form\" method=\"post\" action=\"/orders\">{csrf}\
<label>{units_label}<br><input id=\"units\" name=\"units\" type=\"number\" min=\"1\" max=\"{max}\" value=\"{shown_units}\" required></label>\
<table><tr><th>{price_label}</th><td><span id=\"unit-price\" data-amount=\"{unit_price}\">{unit_price_text}</span></td></tr>\
<tr><th>{fee_label}</th><td><span id=\"order-fee\" data-amount=\"{fee}\">{fee_text}</span></td></tr>\
<tr><th>{total_label}</th><td><span id=\"order-total\" class=\"big\">{total_text}</span></td></tr>\
<tr><th>{stock_label}</th><td><span id=\"stock-level\">{stock}</span></td></tr></table>\
<p><button id=\"order-submit\" type=\"submit\"{disabled}>{submit}</button></p></form>\
<script>(function(){{var u=document.getElementById('units'),t=document.getElementById('order-total');\
function f(n){{return 'Rp '+String(n).replace(/\\B(?=(\\d{{3}})+(?!\\d))/g,'.');}}\
u.addEventListener('input',function(){{var n=parseInt(u.value,10);\
t.textContent=n>0?f(n*{unit_price}+{fee}):'-';}});}})();</script>",
        csrf = csrf_input(&user.csrf),
        units_label = lang.t("units"),
        max = units_max.max(1),
        price_label = lang.t("unit_price"),
        unit_price_text = rupiah(unit_price),
        fee_label = lang.t("fee"),
        fee_text = rupiah(fee),
        total_label = lang.t("total"),
        total_text = rupiah(
            shown_units
                .saturating_mul(unit_price)
                .saturating_add(fee)
        ),
        stock_label = lang.t("stock_level"),
        disabled = if stock <= 0 { " disabled" } else { "" },
        submit = lang.t("order_submit"),
    ));
    let status = error.map(|(s, _)| s).unwrap_or(StatusCode::OK);
    Ok((
        status,
        layout(lang, lang.t("buy_quota"), Some(user), "/orders/new", &body),
    )
        .into_response())
}

/// `GET /orders/new`: how many units, what they cost and how much stock is left.
pub async fn new_order(State(state): State<AppState>, user: PortalUser) -> Response {
    let result = order_form(&state, &user, "1", None).await;
    page_or_error(user.lang, Some(&user), "/orders/new", result)
}

/// `POST /orders`: places the order and sends the buyer to the gateway's payment page (303).
/// Out of stock comes back as the form (409) before anything is paid or held.
pub async fn create(
    State(state): State<AppState>,
    user: PortalUser,
    Form(form): Form<OrderForm>,
) -> Response {
    let result = async {
        user.check_csrf(form.csrf.as_deref())?;
        let units: i64 =
            form.units.trim().parse().map_err(|_| {
                ApiError::bad_request("INVALID_UNITS", "units must be a whole number")
            })?;
        match place_order(&state, &user.user, units).await {
            Ok(order) => {
                let to = order
                    .redirect_url
                    .unwrap_or_else(|| format!("/orders/{}", order.id));
                Ok(Redirect::to(&to).into_response())
            }
            Err(e) if e.code() == "OUT_OF_STOCK" => {
                let message = format!("{} {e}", user.lang.t("out_of_stock"));
                order_form(
                    &state,
                    &user,
                    &form.units,
                    Some((StatusCode::CONFLICT, &message)),
                )
                .await
            }
            Err(e) => Err(e),
        }
    }
    .await;
    page_or_error(user.lang, Some(&user), "/orders/new", result)
}

/// `GET /orders`: the user's latest orders.
pub async fn list(State(state): State<AppState>, user: PortalUser) -> Response {
    let result = async {
        let lang = user.lang;
        let orders = state
            .ledger
            .orders_of(user.user.id, ORDERS_PAGE_MAX)
            .await?;
        let mut body = format!(
            "<p><a id=\"buy-quota\" href=\"/orders/new\">{}</a></p>\
<table id=\"orders\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            lang.t("buy_quota"),
            lang.t("time"),
            lang.t("order_id"),
            lang.t("units"),
            lang.t("total"),
            lang.t("status"),
        );
        for o in &orders {
            body.push_str(&format!(
                "<tr class=\"order\" data-id=\"{id}\" data-state=\"{state}\"><td>{time}</td>\
<td><a href=\"/orders/{id}\">{id}</a></td><td>{units}</td><td>{total}</td><td>{text}</td></tr>",
                id = escape(&o.id),
                state = o.state.as_str(),
                time = iso8601(o.created_at),
                units = o.units,
                total = rupiah(o.gross_amount.0),
                text = state_text(o.state, lang),
            ));
        }
        body.push_str("</table>");
        if orders.is_empty() {
            body.push_str(&format!("<p>{}</p>", lang.t("none_yet")));
        }
        Ok(layout(lang, lang.t("nav_orders"), Some(&user), "/orders", &body).into_response())
    }
    .await;
    page_or_error(user.lang, Some(&user), "/orders", result)
}

/// `GET /orders/{id}`: where the gateway sends the buyer back. While the order is open the
/// page asks the gateway's status API (the same confirmation a notification triggers, so a
/// buyer who paid does not wait for a late notification) and reloads itself.
pub async fn page(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/orders/{id}");
    let result = async {
        let lang = user.lang;
        let mut order = owned_order(&state, user.user.id, &id).await?;
        if !order.state.is_settled()
            && let Some(payments) = state.payments()
        {
            match payments.confirm(&state.ledger, &order.id).await {
                Ok(_) => order = owned_order(&state, user.user.id, &id).await?,
                Err(e) => tracing::warn!(order = %order.id, "order page: status not confirmed: {e}"),
            }
        }
        let open = !order.state.is_settled();
        let mut body = format!(
            "<table><tr><th>{}</th><td><span id=\"order-id\">{}</span></td></tr>\
<tr><th>{}</th><td>{}</td></tr>\
<tr><th>{}</th><td><span id=\"order-units\">{}</span></td></tr>\
<tr><th>{}</th><td><span id=\"order-amount\" data-amount=\"{}\" class=\"big\">{}</span></td></tr>\
<tr><th>{}</th><td>{}</td></tr></table>",
            lang.t("order_id"),
            escape(&order.id),
            lang.t("status"),
            state_span(&order, lang),
            lang.t("units"),
            order.units,
            lang.t("total"),
            order.gross_amount.0,
            rupiah(order.gross_amount.0),
            lang.t("pay_by"),
            iso8601(order.pay_by),
        );
        match order.state {
            OrderState::Created | OrderState::Pending => {
                if let Some(url) = &order.redirect_url {
                    body.push_str(&format!(
                        "<p><a id=\"pay-link\" href=\"{}\">{}</a></p>",
                        escape(url),
                        lang.t("pay_now")
                    ));
                }
            }
            OrderState::Credited | OrderState::Refunded => body.push_str(&format!(
                "<p><a id=\"receipt-link\" href=\"/orders/{}/receipt\">{}</a> · <a href=\"/dashboard\">{}</a></p>",
                escape(&order.id),
                lang.t("receipt"),
                lang.t("nav_dashboard")
            )),
            _ => {}
        }
        if open {
            body.push_str(&format!(
                "<p class=\"warn\">{}</p><script>setTimeout(function(){{location.reload();}},{});</script>",
                lang.t("order_waiting"),
                ORDER_PAGE_REFRESH_SECS * 1000
            ));
        }
        Ok(layout(lang, lang.t("order"), Some(&user), &path, &body).into_response())
    }
    .await;
    page_or_error(user.lang, Some(&user), &path, result)
}

/// `GET /orders/{id}/receipt`: the receipt of a credited order (409 `NOT_CREDITED` before).
pub async fn receipt_page(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/orders/{id}/receipt");
    let result = async {
        let lang = user.lang;
        let order = owned_order(&state, user.user.id, &id).await?;
        let r = receipt_of(&order, &user.user.email)?;
        let rows = [
            ("order_id", "receipt-order-id", escape(&r.order_id)),
            ("buyer", "receipt-buyer", escape(&r.buyer_email)),
            ("units", "receipt-units", r.units.to_string()),
            ("unit_price", "receipt-unit-price", rupiah(r.unit_price)),
            ("fee", "receipt-fee", rupiah(r.fee)),
            ("total", "receipt-total", rupiah(r.total)),
            ("payment_type", "receipt-method", escape(&r.payment_type)),
            ("paid_at", "receipt-paid-at", escape(&r.paid_at)),
            ("credited_at", "receipt-credited-at", escape(&r.credited_at)),
        ];
        let mut body = String::from("<div id=\"receipt\"><table>");
        for (label, span, value) in rows {
            body.push_str(&format!(
                "<tr><th>{}</th><td><span id=\"{span}\">{value}</span></td></tr>",
                lang.t(label)
            ));
        }
        body.push_str(&format!(
            "</table></div><p><a id=\"receipt-pdf\" href=\"/orders/{}/receipt.pdf\">{}</a></p>",
            escape(&r.order_id),
            lang.t("receipt_pdf")
        ));
        Ok(layout(lang, lang.t("receipt"), Some(&user), &path, &body).into_response())
    }
    .await;
    page_or_error(user.lang, Some(&user), &path, result)
}

/// `GET /orders/{id}/receipt.pdf`: the receipt PDF for the logged-in buyer.
pub async fn receipt_pdf(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/orders/{id}/receipt");
    let result = async {
        let order = owned_order(&state, user.user.id, &id).await?;
        receipt_pdf_of(&order, &user.user.email)
    }
    .await;
    page_or_error(user.lang, Some(&user), &path, result)
}

#[cfg(test)]
mod tests {
    use super::rupiah;

    #[test]
    fn rupiah_groups_thousands_with_dots() {
        assert_eq!(rupiah(0), "Rp 0");
        assert_eq!(rupiah(999), "Rp 999");
        assert_eq!(rupiah(32_500), "Rp 32.500");
        assert_eq!(rupiah(1_000_000), "Rp 1.000.000");
    }
}
