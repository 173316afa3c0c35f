//! Buying quota on the portal, black-box: the real server on a free port with the sandbox
//! gateway over real HTTP, on SQLite and PostgreSQL, driven like a browser (cookies, forms,
//! redirects): the order form, the sandbox's payment page, the order page, the receipt.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::browser::{Browser, Page};
use common::{Backend, TestApp, fresh_location, spawn_app_at};
use meterai_ledger::{Mint, TransferId};
use meterai_sandbox_gateway::{Chaos, Sandbox, SandboxConfig};
use meterai_web::payments::midtrans::{Midtrans, MidtransConfig};
use meterai_web::payments::{Payments, PaymentsConfig};

on_both_backends!(
    an_order_placed_on_the_page_is_paid_in_the_sandbox_credited_and_has_a_receipt,
    the_order_form_refuses_a_missing_or_wrong_csrf_token_and_holds_nothing,
    another_users_order_receipt_and_receipt_pdf_are_404,
    out_of_stock_is_said_before_paying_and_nothing_is_held,
);

const SERVER_KEY: &str = "SB-Mid-server-portal-test";
const PASSWORD: &str = "kata-sandi-rahasia";
/// Gateway minutes pass 6000 times faster (late notifications arrive within the test).
const TIME_SCALE: f64 = 6000.0;
/// How long a condition may take to come true before the test fails.
const DEADLINE: Duration = Duration::from_secs(30);
/// Pause between two looks at a condition.
const POLL_EVERY: Duration = Duration::from_millis(50);
const FEE: i64 = 2_500;

/// A server selling quota through a sandbox gateway of its own.
async fn open_shop(backend: Backend) -> (TestApp, Sandbox) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind sandbox");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let mut config = SandboxConfig::new(SERVER_KEY, url.clone());
    config.time_scale = TIME_SCALE;
    config.chaos = Chaos {
        drop_per_mille: 0,
        duplicate_per_mille: 0,
        delay_ms_max: 5,
    };
    let sandbox = Sandbox::new(config);
    tokio::spawn(meterai_sandbox_gateway::serve(
        listener,
        sandbox.clone(),
        std::future::pending(),
    ));
    let gateway = Midtrans::new(MidtransConfig {
        server_key: SERVER_KEY.into(),
        snap_base: url.clone(),
        api_base: url,
    })
    .expect("gateway client");
    let mut payments = PaymentsConfig::new(SERVER_KEY);
    payments.fee = meterai_core::Rupiah(FEE);
    let payments = Arc::new(Payments::new(payments, Arc::new(gateway)));
    let dir = tempfile::tempdir().expect("temp dir");
    let location = fresh_location(backend, &dir).await;
    let app = spawn_app_at(
        location,
        dir,
        meterai_web::UPLOAD_BYTES_MAX,
        None,
        Arc::new(meterai_core::SystemClock),
        move |s| s.with_payments(payments),
    )
    .await;
    (app, sandbox)
}

async fn mint(app: &TestApp, units: i64) {
    let id = TransferId::random().expect("randomness");
    app.ledger
        .mint(Mint {
            id,
            units,
            note: "test stock".into(),
        })
        .await
        .expect("mint");
}

async fn logged_in(app: &TestApp, email: &str) -> Browser {
    let mut browser = Browser::new(app);
    browser.register(email, PASSWORD).await;
    browser
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not in {text}"))
        + start.len();
    let rest = &text[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// Fills in the order form for `units`; the answer (303 to the payment page on success).
async fn order(b: &mut Browser, units: &str) -> Page {
    let form = b.get("/orders/new").await;
    assert_eq!(form.status, 200, "{}", form.text());
    b.post_form("/orders", &[("units", units), ("csrf", &form.csrf())])
        .await
}

/// Orders `units` through the page; returns (order id, payment page URL).
async fn ordered(b: &mut Browser, units: &str) -> (String, String) {
    let placed = order(b, units).await;
    assert_eq!(placed.status, 303, "{}", placed.text());
    let payment_url = placed.location.expect("to the payment page");
    let orders = b.get("/orders").await.text();
    let id = between(&orders, "class=\"order\" data-id=\"", "\"").to_string();
    (id, payment_url)
}

/// Presses a button on the sandbox's payment page; returns where the gateway sends the buyer.
async fn press(payment_url: &str, button: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = client
        .get(payment_url)
        .send()
        .await
        .expect("payment page")
        .text()
        .await
        .expect("page");
    assert!(page.contains(&format!("id=\"{button}\"")), "{page}");
    let pressed = client
        .post(format!("{payment_url}/{button}"))
        .send()
        .await
        .expect("press");
    assert_eq!(pressed.status(), 303);
    pressed.headers()["location"]
        .to_str()
        .expect("location")
        .to_string()
}

/// Reloads the order page until its state is `state`; returns the page's text.
async fn order_page_until(b: &mut Browser, id: &str, state: &str) -> String {
    let until = Instant::now() + DEADLINE;
    loop {
        let page = b.get(&format!("/orders/{id}")).await;
        assert_eq!(page.status, 200, "{}", page.text());
        let text = page.text();
        if text.contains(&format!("id=\"order-state\" data-state=\"{state}\"")) {
            return text;
        }
        assert!(
            Instant::now() < until,
            "the order page never said {state}: {text}"
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
}

async fn assert_audit_clean(app: &TestApp) {
    let report = app.ledger.audit().await.expect("audit");
    assert!(
        report.is_clean(),
        "audit violations: {:?}",
        report.violations
    );
}

async fn an_order_placed_on_the_page_is_paid_in_the_sandbox_credited_and_has_a_receipt(
    backend: Backend,
) {
    let (app, _sandbox) = open_shop(backend).await;
    mint(&app, 10).await;
    let mut b = logged_in(&app, "pembeli@example.id").await;
    let dashboard = b.get("/dashboard").await.text();
    assert!(
        dashboard.contains("id=\"nav-orders\" href=\"/orders\""),
        "{dashboard}"
    );
    assert!(dashboard.contains("href=\"/orders/new\""), "{dashboard}");

    let form = b.get("/orders/new").await.text();
    for needle in [
        "id=\"order-form\"",
        "id=\"units\" name=\"units\"",
        "id=\"order-submit\"",
        "Rp 10.000",
        "Rp 2.500",
        "<span id=\"order-total\" class=\"big\">Rp 12.500</span>",
        "<span id=\"stock-level\">10</span>",
        "<html lang=\"id\"",
        "Lanjut ke pembayaran",
    ] {
        assert!(form.contains(needle), "{needle} missing: {form}");
    }
    assert!(!form.contains("out-of-stock"), "{form}");

    let (id, payment_url) = ordered(&mut b, "3").await;
    assert_eq!(
        app.ledger.stock_level().await.expect("stock"),
        7,
        "the order holds its stock"
    );
    let open = b.get(&format!("/orders/{id}")).await.text();
    assert!(open.contains("data-state=\"pending\""), "{open}");
    assert!(
        open.contains("location.reload"),
        "an open order's page refreshes itself: {open}"
    );
    assert!(open.contains("Rp 32.500"), "{open}");

    let back = press(&payment_url, "pay").await;
    assert!(
        back.starts_with(&app.url(&format!("/orders/{id}"))),
        "the buyer comes back to the order page: {back}"
    );
    let done = order_page_until(&mut b, &id, "credited").await;
    assert!(
        !done.contains("location.reload"),
        "a final order's page stays put: {done}"
    );
    assert!(
        done.contains(&format!("href=\"/orders/{id}/receipt\"")),
        "{done}"
    );
    let dashboard = b.get("/dashboard").await.text();
    assert_eq!(
        between(&dashboard, "id=\"quota-available\" class=\"big\">", "<"),
        "3"
    );

    let list = b.get("/orders").await.text();
    assert!(list.contains("id=\"orders\""), "{list}");
    assert_eq!(list.matches("class=\"order\"").count(), 1, "{list}");
    assert!(
        list.contains(&format!("data-id=\"{id}\" data-state=\"credited\"")),
        "{list}"
    );

    let receipt = b.get(&format!("/orders/{id}/receipt")).await;
    assert_eq!(receipt.status, 200, "{}", receipt.text());
    let receipt = receipt.text();
    assert!(receipt.contains("id=\"receipt\""), "{receipt}");
    for (span, value) in [
        ("receipt-order-id", id.as_str()),
        ("receipt-units", "3"),
        ("receipt-total", "Rp 32.500"),
        ("receipt-fee", "Rp 2.500"),
        ("receipt-buyer", "pembeli@example.id"),
    ] {
        assert_eq!(
            between(&receipt, &format!("id=\"{span}\">"), "<"),
            value,
            "{span}"
        );
    }
    assert!(
        between(&receipt, "id=\"receipt-credited-at\">", "<").starts_with("20"),
        "{receipt}"
    );
    assert!(
        receipt.contains(&format!(
            "id=\"receipt-pdf\" href=\"/orders/{id}/receipt.pdf\""
        )),
        "{receipt}"
    );
    let pdf = b.get(&format!("/orders/{id}/receipt.pdf")).await;
    assert_eq!(pdf.status, 200);
    assert_eq!(pdf.content_type, "application/pdf");
    assert!(pdf.bytes.starts_with(b"%PDF"), "a PDF");
    assert!(String::from_utf8_lossy(&pdf.bytes).contains("Rp 32500"));

    // The quota history shows the credit (+3) and the hold it came from.
    let quota = b.get("/quota").await.text();
    let credit = between(
        &quota,
        "<tr class=\"movement\" data-kind=\"Post\">",
        "</tr>",
    );
    assert!(
        credit.contains("pembelian kuota dikreditkan") && credit.contains("<td>+3</td>"),
        "{credit}"
    );
    assert!(credit.contains(&id), "the credit names the order: {credit}");

    // English on request.
    b.get("/lang/en?next=/orders/new").await;
    let english = b.get(&format!("/orders/{id}/receipt")).await.text();
    assert!(
        english.contains("<html lang=\"en\"") && english.contains("Download the receipt (PDF)"),
        "{english}"
    );
    assert!(
        b.get("/orders/new")
            .await
            .text()
            .contains("Continue to payment")
    );
    assert_audit_clean(&app).await;
    app.stop().await;
}

async fn the_order_form_refuses_a_missing_or_wrong_csrf_token_and_holds_nothing(backend: Backend) {
    let (app, _sandbox) = open_shop(backend).await;
    mint(&app, 5).await;
    let mut b = logged_in(&app, "pembeli@example.id").await;
    for fields in [
        vec![("units", "2")],
        vec![("units", "2"), ("csrf", "wrong-token")],
    ] {
        let page = b.post_form("/orders", &fields).await;
        assert_eq!(page.status, 403, "{}", page.text());
        assert!(
            page.text().contains("CSRF_TOKEN_INVALID"),
            "{}",
            page.text()
        );
    }
    assert_eq!(
        app.ledger.stock_level().await.expect("stock"),
        5,
        "nothing held"
    );
    assert!(!b.get("/orders").await.text().contains("class=\"order\""));
    app.stop().await;
}

async fn another_users_order_receipt_and_receipt_pdf_are_404(backend: Backend) {
    let (app, _sandbox) = open_shop(backend).await;
    mint(&app, 5).await;
    let mut alice = logged_in(&app, "alice@example.id").await;
    let (id, payment_url) = ordered(&mut alice, "1").await;
    press(&payment_url, "pay").await;
    order_page_until(&mut alice, &id, "credited").await;
    assert_eq!(
        alice.get(&format!("/orders/{id}/receipt")).await.status,
        200
    );

    let mut bob = logged_in(&app, "bob@example.id").await;
    for path in [
        format!("/orders/{id}"),
        format!("/orders/{id}/receipt"),
        format!("/orders/{id}/receipt.pdf"),
        "/orders/MTR-nonexistent".into(),
    ] {
        let page = bob.get(&path).await;
        assert_eq!(page.status, 404, "{path}: {}", page.text());
        assert!(page.text().contains("ORDER_NOT_FOUND"), "{path}");
    }
    assert!(
        !bob.get("/orders").await.text().contains(&id),
        "bob's list does not show alice's order"
    );
    // Logged out: to the login page, not the order.
    let mut anonymous = Browser::new(&app);
    let page = anonymous.get(&format!("/orders/{id}/receipt")).await;
    assert_eq!(
        (page.status, page.location.as_deref()),
        (303, Some("/login"))
    );
    app.stop().await;
}

async fn out_of_stock_is_said_before_paying_and_nothing_is_held(backend: Backend) {
    let (app, _sandbox) = open_shop(backend).await;
    let mut b = logged_in(&app, "pembeli@example.id").await;
    let empty = b.get("/orders/new").await.text();
    assert!(empty.contains("id=\"out-of-stock\""), "{empty}");
    assert!(empty.contains("Stok habis"), "{empty}");
    assert!(
        empty.contains("id=\"order-submit\" type=\"submit\" disabled"),
        "{empty}"
    );

    mint(&app, 2).await;
    let refused = order(&mut b, "3").await;
    assert_eq!(refused.status, 409, "{}", refused.text());
    let text = refused.text();
    assert!(
        text.contains("id=\"form-error\"") && text.contains("Stok habis"),
        "{text}"
    );
    assert!(text.contains("id=\"order-form\""), "the form again: {text}");
    assert_eq!(
        app.ledger.stock_level().await.expect("stock"),
        2,
        "nothing held"
    );
    assert!(!b.get("/orders").await.text().contains("class=\"order\""));
    let dashboard = b.get("/dashboard").await.text();
    assert_eq!(
        between(&dashboard, "id=\"quota-available\" class=\"big\">", "<"),
        "0"
    );
    for units in ["0", "abc", "1000001"] {
        let bad = order(&mut b, units).await;
        assert_eq!(bad.status, 400, "{units}: {}", bad.text());
        assert!(bad.text().contains("INVALID_UNITS"), "{units}");
    }
    app.stop().await;
}
