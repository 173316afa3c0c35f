//! The payment page (the Snap redirect page's stand-in): the amount and three buttons.

use meterai_core::midtrans::format_gross_amount;

use crate::transactions::{Transaction, TransactionStatus};

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page for one transaction: buttons while pending, the outcome afterwards.
pub(crate) fn payment_page(tx: &Transaction) -> String {
    let order = escape(&tx.order_id);
    let token = escape(&tx.token);
    let amount = format_gross_amount(tx.gross_amount);
    let body = if tx.status == TransactionStatus::Pending {
        format!(
            "<form method=\"post\" action=\"/snap/v4/redirection/{token}/pay\"><button id=\"pay\" type=\"submit\">Bayar / Pay</button></form>\n\
             <form method=\"post\" action=\"/snap/v4/redirection/{token}/fail\"><button id=\"fail\" type=\"submit\">Gagalkan / Fail</button></form>\n\
             <form method=\"post\" action=\"/snap/v4/redirection/{token}/expire\"><button id=\"expire\" type=\"submit\">Biarkan kedaluwarsa / Let expire</button></form>"
        )
    } else {
        format!(
            "<p id=\"outcome\" data-status=\"{}\">Status: {}</p>",
            tx.status.as_str(),
            tx.status.as_str()
        )
    };
    format!(
        "<!doctype html>\n<html lang=\"id\"><head><meta charset=\"utf-8\"><title>Sandbox payment {order}</title></head>\n\
         <body><h1>Sandbox payment gateway</h1>\n<p>Order <span id=\"order-id\">{order}</span>: \
         IDR <span id=\"gross-amount\">{amount}</span></p>\n{body}\n</body></html>\n"
    )
}

/// Unknown token.
pub(crate) fn not_found() -> String {
    "<!doctype html>\n<html lang=\"id\"><head><meta charset=\"utf-8\"><title>Not found</title></head><body><p>Transaksi tidak ditemukan / no such transaction</p></body></html>\n".to_string()
}
