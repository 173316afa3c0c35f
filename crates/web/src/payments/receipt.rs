//! The receipt (kuitansi) of a credited order: the data a page shows ([`Receipt`]) and a
//! one-page PDF of it ([`pdf`]), written directly (a handful of objects; no template engine).

use meterai_core::midtrans::format_gross_amount;
use meterai_ledger::orders::{Order, OrderState};

use crate::time::iso8601;

/// What a receipt states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The order id.
    pub order_id: String,
    /// The buyer.
    pub buyer_email: String,
    /// Units credited.
    pub units: i64,
    /// Price of one unit, rupiah.
    pub unit_price: i64,
    /// Fee, rupiah.
    pub fee: i64,
    /// Total paid, rupiah.
    pub total: i64,
    /// How it was paid.
    pub payment_type: String,
    /// When the payment was confirmed (ISO 8601).
    pub paid_at: String,
    /// When the units reached the quota (ISO 8601).
    pub credited_at: String,
    /// The ledger transfer that credited them.
    pub credit_transfer: String,
}

impl Receipt {
    /// The receipt of `order`; `None` unless it was credited.
    pub fn of(order: &Order, buyer_email: &str) -> Option<Receipt> {
        if !matches!(order.state, OrderState::Credited | OrderState::Refunded) {
            return None;
        }
        let credit = order.credit_transfer_id?;
        let credited_at = order.credited_at?;
        Some(Receipt {
            order_id: order.id.clone(),
            buyer_email: buyer_email.to_string(),
            units: order.units,
            unit_price: order.unit_price.0,
            fee: order.fee.0,
            total: order.gross_amount.0,
            payment_type: order.payment_type.clone().unwrap_or_else(|| "-".into()),
            paid_at: iso8601(order.paid_at.unwrap_or(credited_at)),
            credited_at: iso8601(credited_at),
            credit_transfer: credit.to_string(),
        })
    }

    /// The receipt's lines, as printed (Bahasa Indonesia / English).
    pub fn lines(&self) -> Vec<String> {
        vec![
            "KUITANSI / RECEIPT - e-Meterai".to_string(),
            String::new(),
            format!("Nomor pesanan / Order: {}", self.order_id),
            format!("Pembeli / Buyer: {}", self.buyer_email),
            format!("Jumlah / Units: {} x Rp {}", self.units, self.unit_price),
            format!("Biaya / Fee: Rp {}", self.fee),
            format!(
                "Total dibayar / Total paid: Rp {} (IDR {})",
                self.total,
                format_gross_amount(meterai_core::Rupiah(self.total))
            ),
            format!("Metode / Method: {}", self.payment_type),
            format!("Dibayar / Paid: {}", self.paid_at),
            format!("Dikreditkan / Credited: {}", self.credited_at),
            format!(
                "Transfer buku besar / Ledger transfer: {}",
                self.credit_transfer
            ),
        ]
    }
}

/// Text for a PDF literal string: ASCII only (the standard Helvetica font's encoding), with
/// backslash and parentheses escaped.
fn pdf_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '(' | ')' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

/// A one-page A4 PDF of the receipt.
pub fn pdf(receipt: &Receipt) -> Vec<u8> {
    let mut content = String::from("BT\n/F1 11 Tf\n14 TL\n56 780 Td\n");
    for line in receipt.lines() {
        content.push_str(&format!("({}) Tj T*\n", pdf_text(&line)));
    }
    content.push_str("ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
    ];
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Receipt {
        Receipt {
            order_id: "MTR-1".into(),
            buyer_email: "a(b)@example.com".into(),
            units: 3,
            unit_price: 10_000,
            fee: 2_500,
            total: 32_500,
            payment_type: "bank_transfer".into(),
            paid_at: "2026-01-01T00:00:00Z".into(),
            credited_at: "2026-01-01T00:00:01Z".into(),
            credit_transfer: "00".repeat(16),
        }
    }

    #[test]
    fn the_receipt_pdf_parses_and_states_the_total() {
        let bytes = pdf(&sample());
        let doc = meterai_pdf::Document::open(&bytes, None).expect("our own PDF parses");
        assert_eq!(doc.page_count().expect("pages"), 1);
        assert!(!doc.repaired(), "the cross-reference table is exact");
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("Rp 32500"), "{text}");
        assert!(text.contains("a\\(b\\)@example.com"), "{text}");
    }
}
