//! The portal's two languages: Bahasa Indonesia (default) and English, chosen by the `lang`
//! cookie. One small table of texts keyed by a short name; no i18n framework for a few pages.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::session::cookie;

/// The cookie holding the chosen language (`id` or `en`).
pub const LANG_COOKIE: &str = "lang";

/// A page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Bahasa Indonesia, the default.
    #[default]
    Id,
    /// English.
    En,
}

impl Lang {
    /// The code used in the cookie, URLs and `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }

    /// Parses `id` or `en`.
    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "id" => Some(Lang::Id),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The other language (what the switch offers).
    pub fn other(self) -> Lang {
        match self {
            Lang::Id => Lang::En,
            Lang::En => Lang::Id,
        }
    }

    /// The text named `key` in this language; the key itself when the table lacks it.
    pub fn t(self, key: &'static str) -> &'static str {
        match TEXTS.iter().find(|(k, _, _)| *k == key) {
            Some((_, id, en)) => match self {
                Lang::Id => id,
                Lang::En => en,
            },
            None => key,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Lang, Self::Rejection> {
        Ok(cookie(&parts.headers, LANG_COOKIE)
            .and_then(|v| Lang::parse(&v))
            .unwrap_or_default())
    }
}

/// (key, Bahasa Indonesia, English).
const TEXTS: &[(&str, &str, &str)] = &[
    ("lang_name", "English", "Bahasa Indonesia"),
    ("nav_dashboard", "Beranda", "Dashboard"),
    ("nav_stamp", "Bubuhkan e-Meterai", "Stamp"),
    ("nav_history", "Riwayat pembubuhan", "Stamping history"),
    ("nav_quota", "Mutasi kuota", "Quota movements"),
    ("nav_api_keys", "Kunci API", "API keys"),
    ("logout", "Keluar", "Log out"),
    ("login", "Masuk", "Log in"),
    ("register", "Daftar", "Register"),
    ("email", "Alamat e-mail", "E-mail address"),
    ("password", "Kata sandi", "Password"),
    (
        "login_failed",
        "E-mail atau kata sandi salah.",
        "Wrong e-mail address or password.",
    ),
    (
        "register_taken",
        "Alamat e-mail ini tidak dapat didaftarkan.",
        "This e-mail address cannot be registered.",
    ),
    ("no_account", "Belum punya akun?", "No account yet?"),
    ("have_account", "Sudah punya akun?", "Already registered?"),
    ("error", "Terjadi kesalahan", "Something went wrong"),
    ("quota_available", "Kuota tersedia", "Quota available"),
    (
        "quota_reserved",
        "Kuota sedang diproses",
        "Quota reserved (in progress)",
    ),
    ("quota_used", "Kuota terpakai", "Quota used"),
    ("stock_level", "Stok e-Meterai nasional", "e-Meterai stock"),
    ("upload_pdf", "Dokumen PDF", "PDF document"),
    ("page", "Halaman", "Page"),
    ("upload", "Unggah", "Upload"),
    ("upload_limit", "Ukuran maksimum", "Largest size"),
    (
        "place_hint",
        "Klik pada pratinjau untuk menempatkan e-Meterai; kotaknya dapat digeser.",
        "Click the preview to place the e-Meterai; the box can be dragged.",
    ),
    ("doc_type", "Jenis dokumen", "Document type"),
    ("doc_number", "Nomor dokumen", "Document number"),
    ("doc_date", "Tanggal dokumen", "Document date"),
    (
        "stamp_confirm",
        "Bubuhkan e-Meterai (1 kuota)",
        "Stamp (1 unit of quota)",
    ),
    ("result", "Hasil pembubuhan", "Stamping result"),
    ("serial", "Nomor seri", "Serial number"),
    ("status", "Status", "Status"),
    ("status_stamped", "berhasil", "stamped"),
    (
        "status_failed_returned",
        "gagal, kuota dikembalikan",
        "failed, quota returned",
    ),
    (
        "status_failed_pending",
        "gagal, kuota sedang dikembalikan",
        "failed, quota being returned",
    ),
    ("status_processing", "diproses", "processing"),
    (
        "download",
        "Unduh dokumen bermeterai",
        "Download the stamped document",
    ),
    ("verify_link", "Tautan verifikasi", "Verification link"),
    (
        "retention_over",
        "Masa simpan unduhan sudah lewat. Unggah ulang dokumen asli untuk mendapatkan dokumen bermeterai yang sama tanpa biaya.",
        "The download period is over. Upload the original again to get the same stamped document back at no cost.",
    ),
    (
        "restore",
        "Unggah ulang dokumen asli",
        "Upload the original again",
    ),
    (
        "download_until",
        "Dapat diunduh sampai",
        "Downloadable until",
    ),
    ("document", "Dokumen", "Document"),
    ("time", "Waktu", "Time"),
    ("all", "Semua", "All"),
    ("search", "Cari", "Search"),
    ("filter", "Saring", "Filter"),
    ("next_page", "Berikutnya", "Next"),
    ("prev_page", "Sebelumnya", "Previous"),
    ("movement", "Mutasi", "Movement"),
    ("reason", "Keterangan", "Reason"),
    ("change", "Perubahan", "Change"),
    (
        "api_keys_intro",
        "Kunci API untuk integrasi sistem Anda (Authorization: Bearer KUNCI).",
        "API keys for your systems (Authorization: Bearer KEY).",
    ),
    ("api_key_label", "Keterangan kunci", "Key label"),
    ("api_key_create", "Buat kunci API", "Create an API key"),
    (
        "api_key_shown_once",
        "Simpan kunci ini sekarang; kunci hanya ditampilkan sekali:",
        "Store this key now; it is shown only once:",
    ),
    ("revoke", "Cabut", "Revoke"),
    ("revoked", "dicabut", "revoked"),
    ("active", "aktif", "active"),
    ("created", "Dibuat", "Created"),
    ("back", "Kembali", "Back"),
    (
        "failure_quota_back",
        "Pembubuhan gagal. Kuota Anda sudah dikembalikan.",
        "The stamping failed. Your quota is already back.",
    ),
    ("none_yet", "Belum ada.", "Nothing yet."),
    ("nav_orders", "Pembelian kuota", "Quota orders"),
    ("buy_quota", "Beli kuota", "Buy quota"),
    ("units", "Jumlah meterai", "Units"),
    ("unit_price", "Harga per meterai", "Price per unit"),
    ("fee", "Biaya layanan", "Service fee"),
    ("total", "Total dibayar", "Total to pay"),
    ("order_submit", "Lanjut ke pembayaran", "Continue to payment"),
    (
        "out_of_stock",
        "Stok habis: stok e-Meterai tidak cukup untuk pesanan ini. Belum ada yang dibayar.",
        "Out of stock: not enough e-Meterai stock for this order. Nothing has been paid.",
    ),
    ("order", "Pesanan", "Order"),
    ("order_id", "Nomor pesanan", "Order number"),
    ("pay_by", "Bayar sebelum", "Pay by"),
    ("pay_now", "Lanjutkan pembayaran", "Continue paying"),
    (
        "order_waiting",
        "Menunggu konfirmasi pembayaran; halaman ini diperbarui otomatis.",
        "Waiting for the payment to be confirmed; this page updates itself.",
    ),
    ("receipt", "Kuitansi", "Receipt"),
    ("receipt_pdf", "Unduh kuitansi (PDF)", "Download the receipt (PDF)"),
    ("buyer", "Pembeli", "Buyer"),
    ("payment_type", "Metode pembayaran", "Payment method"),
    ("paid_at", "Dibayar", "Paid"),
    ("credited_at", "Kuota ditambahkan", "Quota added"),
];
