//! The few HTML pages, written with `format!` and one escaping function (no template engine for
//! a handful of pages). Bahasa Indonesia first, English in smaller print.

use axum::response::Html;

use crate::i18n::Lang;

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
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

/// A whole public page with the language switch back to `path`; `body` must already be escaped
/// HTML (bilingual: Bahasa Indonesia first, English in smaller print).
pub fn page(lang: Lang, path: &str, title: &str, body: &str) -> Html<String> {
    let other = lang.other();
    Html(format!(
        "<!doctype html>\n<html lang=\"{code}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} · meterai</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}}\
.en{{color:#666;font-size:.9em}}.state{{font-weight:bold;font-size:1.3em}}\
.ok{{color:#17612b}}.warn{{color:#8a5a00}}.bad{{color:#a11}}table{{border-collapse:collapse}}\
td,th{{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}}</style>\
</head><body><nav><a id=\"lang-switch\" href=\"/lang/{other}?next={next}\" hreflang=\"{other}\">{other_name}</a></nav>\
<h1>{title}</h1>\n{body}\n</body></html>\n",
        code = lang.code(),
        other = other.code(),
        other_name = lang.t("lang_name"),
        next = escape(&crate::portal::percent_encode(path)),
        title = escape(title)
    ))
}

/// The upload form that posts a PDF to the verification page.
pub fn verify_form() -> &'static str {
    "<form id=\"verify-form\" method=\"post\" action=\"/verify\" enctype=\"multipart/form-data\">\
<p><label>Unggah dokumen PDF untuk diverifikasi <span class=\"en\">(upload a PDF to verify)</span><br>\
<input id=\"verify-file\" type=\"file\" name=\"file\" accept=\"application/pdf\" required></label></p>\
<p><button id=\"verify-submit\" type=\"submit\">Verifikasi <span class=\"en\">(Verify)</span></button></p></form>"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_text_is_escaped() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
