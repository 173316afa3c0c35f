//! Buying quota, black-box: the real server on a free port, the sandbox gateway over real HTTP
//! (Midtrans's protocol), on SQLite and PostgreSQL. Ends with the chaos run: a thousand orders
//! with duplicated, reordered, dropped, forged and replayed notifications, a gateway outage
//! and a server restart; afterwards every paid order is credited exactly once, nothing else.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Backend, TestApp, error_code, fresh_location, spawn_app_at};
use meterai_core::midtrans::signature_key;
use meterai_ledger::orders::{OrderState, credit_id, late_grant_id};
use meterai_ledger::{Mint, TransferId};
use meterai_sandbox_gateway::{
    ActError, Action, Chaos, Sandbox, SandboxConfig, SplitMix64, TransactionStatus,
};
use meterai_web::payments::midtrans::{Midtrans, MidtransConfig};
use meterai_web::payments::{DEFAULT_NOTIFICATION_PATH, Payments, PaymentsConfig};

/// Declares `mod $name { on_sqlite, on_postgres }`.
macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                super::$name($crate::common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                super::$name($crate::common::Backend::Postgres).await
            }
        }
    };
}

const SERVER_KEY: &str = "SB-Mid-server-test-key";
/// Gateway minutes pass 6000 times faster: the 2..210-minute retries take 20 ms..2.1 s.
const TIME_SCALE: f64 = 6000.0;
/// How long a condition may take to come true before the test fails.
const DEADLINE: Duration = Duration::from_secs(45);
/// Pause between two looks at a condition.
const POLL_EVERY: Duration = Duration::from_millis(25);

struct Shop {
    app: TestApp,
    sandbox: Sandbox,
    payments: Arc<Payments>,
}

async fn start_sandbox(chaos: Chaos, seed: u64) -> (Sandbox, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind sandbox");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let mut config = SandboxConfig::new(SERVER_KEY, url.clone());
    config.time_scale = TIME_SCALE;
    config.chaos = chaos;
    config.seed = seed;
    let sandbox = Sandbox::new(config);
    tokio::spawn(meterai_sandbox_gateway::serve(
        listener,
        sandbox.clone(),
        std::future::pending(),
    ));
    (sandbox, url)
}

fn payments(sandbox_url: &str) -> Arc<Payments> {
    let gateway = Midtrans::new(MidtransConfig {
        server_key: SERVER_KEY.into(),
        snap_base: sandbox_url.into(),
        api_base: sandbox_url.into(),
    })
    .expect("gateway client");
    let mut config = PaymentsConfig::new(SERVER_KEY);
    config.fee = meterai_core::Rupiah(2_500);
    // Reconciliation (run by the tests) asks about every open order.
    config.reconcile_after_ms = 0;
    // The sandbox's minutes pass 6000 times faster: 23 hours to pay are 13.8 s of the test.
    config.pay_within_minutes = 23 * 60;
    Arc::new(Payments::new(config, Arc::new(gateway)))
}

async fn open_shop(backend: Backend, chaos: Chaos, seed: u64) -> Shop {
    let (sandbox, url) = start_sandbox(chaos, seed).await;
    let payments = payments(&url);
    let dir = tempfile::tempdir().expect("temp dir");
    let location = fresh_location(backend, &dir).await;
    let with = payments.clone();
    let app = spawn_app_at(
        location,
        dir,
        meterai_web::UPLOAD_BYTES_MAX,
        None,
        Arc::new(meterai_core::SystemClock),
        move |s| s.with_payments(with),
    )
    .await;
    Shop {
        app,
        sandbox,
        payments,
    }
}

impl Shop {
    async fn mint(&self, units: i64) {
        let id = TransferId::random().expect("randomness");
        self.app
            .ledger
            .mint(Mint {
                id,
                units,
                note: "test stock".into(),
            })
            .await
            .expect("mint");
    }

    async fn order(
        &self,
        key: &str,
        body: serde_json::Value,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let response = self
            .app
            .client
            .post(self.app.url("/api/v1/orders"))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .expect("POST orders");
        let status = response.status();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    async fn notify(&self, body: &[u8]) -> (reqwest::StatusCode, serde_json::Value) {
        let response = self
            .app
            .client
            .post(self.app.url(DEFAULT_NOTIFICATION_PATH))
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .expect("POST notification");
        let status = response.status();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// The genuine notification of the order's transaction as it stands, as the gateway signs it.
    fn genuine(&self, order_id: &str) -> serde_json::Value {
        self.sandbox
            .transaction(order_id)
            .expect("transaction")
            .to_json(SERVER_KEY)
    }

    async fn state(&self, order_id: &str) -> OrderState {
        self.app
            .ledger
            .order(order_id)
            .await
            .expect("order")
            .expect("exists")
            .state
    }
}

/// Polls `check` until it is true; fails the test at the deadline.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + DEADLINE;
    while !check().await {
        assert!(Instant::now() < until, "timed out waiting until {what}");
        tokio::time::sleep(POLL_EVERY).await;
    }
}

async fn an_order_paid_in_the_sandbox_is_credited_once_with_a_receipt(backend: Backend) {
    let shop = open_shop(
        backend,
        Chaos {
            drop_per_mille: 0,
            duplicate_per_mille: 1000,
            delay_ms_max: 5,
        },
        1,
    )
    .await;
    shop.mint(10).await;
    let (_, key) = shop.app.user_with_key("buyer@example.com", 0).await;
    let stock: serde_json::Value = shop
        .app
        .client
        .get(shop.app.url("/api/v1/stock"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            stock["available"].as_i64(),
            stock["unit_price"].as_i64(),
            stock["fee"].as_i64()
        ),
        (Some(10), Some(10_000), Some(2_500))
    );
    let (status, order) = shop.order(&key, serde_json::json!({ "units": 3 })).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["gross_amount"], 32_500);
    assert_eq!(order["state"], "pending");
    let id = order["id"].as_str().expect("id").to_string();
    let page_url = order["payment_url"]
        .as_str()
        .expect("payment url")
        .to_string();
    // The buyer sees the sandbox's payment page and presses Pay.
    let page = shop
        .app
        .client
        .get(&page_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for button in ["id=\"pay\"", "id=\"fail\"", "id=\"expire\""] {
        assert!(page.contains(button), "{page}");
    }
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let paid = no_redirects
        .post(format!("{page_url}/pay"))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 303);
    let back = paid.headers()["location"].to_str().unwrap().to_string();
    assert!(
        back.starts_with(&shop.app.url(&format!("/orders/{id}"))),
        "the buyer comes back to the order page: {back}"
    );
    eventually("the order is credited", || async {
        shop.state(&id).await == OrderState::Credited
    })
    .await;
    assert_eq!(shop.app.quota(&key).await, (3, 0, 0));
    let order: serde_json::Value = shop
        .app
        .get_with(&key, &format!("/api/v1/orders/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order["state"], "credited");
    assert_eq!(order["gateway_status"], "settlement");
    // Every notification was sent twice; each was kept once and counted twice.
    eventually("both deliveries of each notification arrived", || async {
        shop.sandbox.stats().in_flight == 0
    })
    .await;
    let inbox = shop.app.ledger.notifications(Some(&id)).await.unwrap();
    assert!(
        inbox
            .iter()
            .all(|n| n.verdict == "genuine" && n.times_received == 2),
        "{inbox:?}"
    );
    let receipt = shop
        .app
        .get_with(&key, &format!("/api/v1/orders/{id}/receipt.pdf"))
        .await;
    assert_eq!(receipt.status(), 200);
    let pdf = receipt.bytes().await.unwrap();
    let doc = meterai_pdf::Document::open(&pdf, None).expect("the receipt is a PDF");
    assert_eq!(doc.page_count().unwrap(), 1);
    assert!(String::from_utf8_lossy(&pdf).contains("Rp 32500"));
    let metrics = shop
        .app
        .client
        .get(shop.app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("meterai_orders{state=\"credited\"} 1\n"),
        "{metrics}"
    );
    assert_eq!(shop.app.ledger.stock_level().await.unwrap(), 7);
    assert!(shop.app.ledger.audit().await.unwrap().is_clean());
    shop.app.stop().await;
}
on_both!(an_order_paid_in_the_sandbox_is_credited_once_with_a_receipt);

async fn bad_notifications_and_orders_get_clear_errors_and_credit_nothing(backend: Backend) {
    let shop = open_shop(backend, Chaos::NONE, 2).await;
    shop.mint(5).await;
    let (_, key) = shop.app.user_with_key("buyer@example.com", 0).await;
    let (_, other_key) = shop.app.user_with_key("other@example.com", 0).await;
    let (_, order) = shop.order(&key, serde_json::json!({ "units": 2 })).await;
    let id = order["id"].as_str().expect("id").to_string();
    eventually("the pending notification was processed", || async {
        shop.app
            .ledger
            .notifications(Some(&id))
            .await
            .unwrap()
            .iter()
            .any(|n| n.outcome.is_some())
    })
    .await;
    let genuine = shop.genuine(&id);

    let (status, body) = shop.notify(b"{not json").await;
    assert_eq!(
        (status.as_u16(), error_code(&body)),
        (400, "MALFORMED_NOTIFICATION")
    );
    let mut forged = genuine.clone();
    forged["transaction_status"] = "settlement".into();
    forged["status_code"] = "200".into();
    let (status, body) = shop.notify(forged.to_string().as_bytes()).await;
    assert_eq!((status.as_u16(), error_code(&body)), (403, "BAD_SIGNATURE"));
    let mut unknown = genuine.clone();
    unknown["order_id"] = "MTR-00000000000000000000000000000bad".into();
    unknown["signature_key"] = signature_key(
        "MTR-00000000000000000000000000000bad",
        "201",
        "22500.00",
        SERVER_KEY,
    )
    .into();
    let (status, body) = shop.notify(unknown.to_string().as_bytes()).await;
    assert_eq!(
        (status.as_u16(), error_code(&body)),
        (404, "ORDER_NOT_FOUND")
    );
    let mut cheap = genuine.clone();
    cheap["gross_amount"] = "100.00".into();
    cheap["signature_key"] = signature_key(&id, "201", "100.00", SERVER_KEY).into();
    let (status, body) = shop.notify(cheap.to_string().as_bytes()).await;
    assert_eq!((status.as_u16(), error_code(&body)), (422, "WRONG_AMOUNT"));
    let huge = vec![b' '; meterai_web::payments::notifications::NOTIFICATION_BYTES_MAX + 1];
    let (status, body) = shop.notify(&huge).await;
    assert_eq!((status.as_u16(), error_code(&body)), (413, "TOO_LARGE"));
    // A genuine body replayed with another status verifies (the signature does not cover the
    // status) but the gateway's status API says pending: nothing is credited.
    let mut replayed = genuine.clone();
    replayed["transaction_status"] = "settlement".into();
    let (status, _) = shop.notify(replayed.to_string().as_bytes()).await;
    assert_eq!(status.as_u16(), 200);
    eventually("the replay was checked with the gateway", || async {
        shop.app
            .ledger
            .notifications(Some(&id))
            .await
            .unwrap()
            .iter()
            .filter(|n| n.outcome.as_deref() == Some("unchanged"))
            .count()
            >= 2
    })
    .await;
    assert_eq!(shop.state(&id).await, OrderState::Pending);
    let verdicts: Vec<String> = shop
        .app
        .ledger
        .notifications(None)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.verdict)
        .collect();
    for verdict in [
        "malformed",
        "forged",
        "unknown_order",
        "wrong_amount",
        "genuine",
    ] {
        assert!(
            verdicts.iter().any(|v| v == verdict),
            "{verdict} kept: {verdicts:?}"
        );
    }

    let (status, body) = shop.order(&key, serde_json::json!({ "units": 4 })).await;
    assert_eq!((status.as_u16(), error_code(&body)), (409, "OUT_OF_STOCK"));
    let (status, body) = shop.order(&key, serde_json::json!({ "units": 0 })).await;
    assert_eq!((status.as_u16(), error_code(&body)), (400, "INVALID_UNITS"));
    let (status, body) = shop.order(&key, serde_json::json!({ "units": "2" })).await;
    assert_eq!((status.as_u16(), error_code(&body)), (400, "INVALID_UNITS"));
    let response = shop
        .app
        .client
        .post(shop.app.url("/api/v1/orders"))
        .bearer_auth(&key)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response = shop
        .app
        .client
        .post(shop.app.url("/api/v1/orders"))
        .json(&serde_json::json!({ "units": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    for path in [
        format!("/api/v1/orders/{id}"),
        format!("/api/v1/orders/{id}/receipt.pdf"),
    ] {
        let response = shop.app.get_with(&other_key, &path).await;
        assert_eq!(response.status(), 404, "{path} of another user");
    }
    let response = shop
        .app
        .get_with(&key, &format!("/api/v1/orders/{id}/receipt.pdf"))
        .await;
    assert_eq!(response.status(), 409, "no receipt before the credit");
    // The gateway down at order time: a clear 503, and the stock is back at once.
    shop.sandbox.set_outage(true);
    let (status, body) = shop.order(&key, serde_json::json!({ "units": 1 })).await;
    assert_eq!(
        (status.as_u16(), error_code(&body)),
        (503, "GATEWAY_UNAVAILABLE")
    );
    shop.sandbox.set_outage(false);
    assert_eq!(shop.app.ledger.stock_level().await.unwrap(), 3);
    assert_eq!(shop.app.quota(&key).await, (0, 0, 0));
    assert!(shop.app.ledger.audit().await.unwrap().is_clean());
    shop.app.stop().await;
}
on_both!(bad_notifications_and_orders_get_clear_errors_and_credit_nothing);

/// Orders in the chaos run.
const CHAOS_ORDERS: usize = 1000;
/// Stock minted for it: less than the orders ask (about 2,000 units), so some are refused.
const CHAOS_STOCK: i64 = 1_700;
/// Buyers.
const CHAOS_USERS: usize = 8;
/// Orders created at once.
const CHAOS_CONCURRENCY: usize = 16;

async fn a_thousand_orders_through_chaos_credit_every_paid_order_exactly_once(backend: Backend) {
    let started = Instant::now();
    let chaos = Chaos {
        drop_per_mille: 150,
        duplicate_per_mille: 250,
        delay_ms_max: 40,
    };
    let mut shop = open_shop(backend, chaos, 7).await;
    shop.mint(CHAOS_STOCK).await;
    let mut keys = Vec::new();
    for n in 0..CHAOS_USERS {
        keys.push(
            shop.app
                .user_with_key(&format!("buyer{n}@example.com"), 0)
                .await,
        );
    }
    let mut rng = SplitMix64::new(42);

    // Orders, 16 at a time; the ones beyond the stock are refused before paying.
    let requests: Vec<(usize, i64)> = (0..CHAOS_ORDERS)
        .map(|_| {
            (
                rng.up_to(CHAOS_USERS as u64 - 1) as usize,
                1 + rng.up_to(2) as i64,
            )
        })
        .collect();
    let mut orders: Vec<(String, usize, i64)> = Vec::new();
    let mut refused = 0;
    for chunk in requests.chunks(CHAOS_CONCURRENCY) {
        let answers = futures_join(chunk.iter().map(|&(user, units)| {
            let key = keys[user].1.clone();
            let shop = &shop;
            async move {
                (
                    user,
                    units,
                    shop.order(&key, serde_json::json!({ "units": units }))
                        .await,
                )
            }
        }))
        .await;
        for (user, units, (status, body)) in answers {
            match status.as_u16() {
                201 => orders.push((body["id"].as_str().expect("id").to_string(), user, units)),
                409 => {
                    assert_eq!(error_code(&body), "OUT_OF_STOCK");
                    refused += 1;
                }
                other => panic!("order answered {other}: {body}"),
            }
        }
    }
    let asked: i64 = orders.iter().map(|o| o.2).sum();
    let level = shop.app.ledger.stock_level().await.unwrap();
    let stock_balance = shop
        .app
        .ledger
        .balance(meterai_ledger::AccountId::STOCK)
        .await
        .unwrap();
    assert!(
        refused > 0 && orders.len() > CHAOS_ORDERS / 2,
        "{} orders, {refused} refused, {asked} units, stock {level} {stock_balance:?}",
        orders.len()
    );

    // The buyers act in random order; meanwhile attackers and replays, an outage, a restart.
    let mut order_of_play: Vec<usize> = (0..orders.len()).collect();
    for i in (1..order_of_play.len()).rev() {
        order_of_play.swap(i, rng.up_to(i as u64) as usize);
    }
    let outage = (orders.len() * 3 / 10, orders.len() * 45 / 100);
    let restart_at = orders.len() * 6 / 10;
    let mut attacks = (0, 0);
    for (step, &index) in order_of_play.iter().enumerate() {
        if step == outage.0 {
            shop.sandbox.set_outage(true);
        }
        if step == outage.1 {
            shop.sandbox.set_outage(false);
        }
        if step == restart_at {
            let addr = shop.app.addr;
            let (dir, location) = shop.app.stop_keeping_data().await;
            let with = shop.payments.clone();
            shop.app = spawn_app_at(
                location,
                dir,
                meterai_web::UPLOAD_BYTES_MAX,
                Some(addr),
                Arc::new(meterai_core::SystemClock),
                move |s| s.with_payments(with),
            )
            .await;
        }
        let id = &orders[index].0;
        let roll = rng.up_to(99);
        let action = match roll {
            0..45 => Some(Action::Pay),
            45..60 => Some(Action::Fail),
            60..75 => Some(Action::Expire),
            _ => None,
        };
        if let Some(action) = action {
            // A slow run may see the payment window close first: that is a fate too.
            match shop.sandbox.act(id, action) {
                Ok(_) | Err(ActError::NotPending(TransactionStatus::Expire)) => {}
                Err(e) => panic!("{id}: {e:?}"),
            }
        }
        if step % 7 == 0 {
            // A genuine body replayed with another status: verified, confirmed, ignored.
            let mut replay = shop.genuine(id);
            replay["transaction_status"] =
                ["settlement", "expire", "deny", "refund", "capture"][rng.up_to(4) as usize].into();
            let (status, _) = shop.notify(replay.to_string().as_bytes()).await;
            assert_eq!(status, 200);
            attacks.0 += 1;
        }
        if step % 11 == 0 {
            // A forger without the server key claims the payment.
            let mut forged = shop.genuine(id);
            let gross = forged["gross_amount"].as_str().expect("gross").to_string();
            forged["transaction_status"] = "settlement".into();
            forged["status_code"] = "200".into();
            forged["signature_key"] = signature_key(id, "200", &gross, "guessed-key").into();
            let (status, _) = shop.notify(forged.to_string().as_bytes()).await;
            assert_eq!(status, 403);
            attacks.1 += 1;
        }
    }

    // The buyers who never paid let their orders expire now, so the gateway's truth is final
    // (a payment window closing during the bookkeeping below would race with it).
    for (id, _, _) in &orders {
        let _ = shop.sandbox.act(id, Action::Expire);
    }
    // Let every notification land (or be given up on), then see how far they got alone.
    eventually(
        "the sandbox has delivered or abandoned every notification",
        || async { shop.sandbox.stats().in_flight == 0 },
    )
    .await;
    let truth = |id: &str| match shop.sandbox.transaction(id).expect("transaction").status {
        TransactionStatus::Settlement => OrderState::Credited,
        TransactionStatus::Deny => OrderState::Denied,
        TransactionStatus::Expire => OrderState::Expired,
        TransactionStatus::Pending => OrderState::Pending,
    };
    let mut by_notifications = 0;
    for (id, _, _) in &orders {
        if shop.state(id).await == truth(id) {
            by_notifications += 1;
        }
    }
    // Reconciliation settles what the notifications did not (dropped, outage, restart).
    eventually("reconciliation settles every order", || async {
        shop.payments
            .reconcile(&shop.app.ledger)
            .await
            .expect("reconcile");
        for (id, _, _) in &orders {
            if shop.state(id).await != truth(id) {
                return false;
            }
        }
        true
    })
    .await;

    let ledger = &shop.app.ledger;
    let mut credited_per_user = [0i64; CHAOS_USERS];
    let (mut credited_units, mut held_units) = (0, 0);
    for (id, user, units) in &orders {
        let order = ledger.order(id).await.unwrap().unwrap();
        let posted = ledger
            .transfer(credit_id(order.hold_id))
            .await
            .unwrap()
            .is_some();
        let late = ledger
            .transfer(late_grant_id(order.hold_id))
            .await
            .unwrap()
            .is_some();
        match order.state {
            OrderState::Credited => {
                assert!(posted ^ late, "{id} credited by exactly one transfer");
                credited_per_user[*user] += units;
                credited_units += units;
            }
            OrderState::Pending => {
                assert!(!posted && !late, "{id} unpaid and not credited");
                held_units += units;
            }
            _ => assert!(!posted && !late, "{id} unpaid and not credited"),
        }
    }
    for (n, (_, key)) in keys.iter().enumerate() {
        assert_eq!(
            shop.app.quota(key).await.0,
            credited_per_user[n],
            "buyer{n}'s quota is what they paid for"
        );
    }
    let stock = ledger.stock_level().await.unwrap();
    assert_eq!(
        stock,
        CHAOS_STOCK - credited_units - held_units,
        "no unit sold twice or lost"
    );
    assert!(stock >= 0);
    let report = ledger.audit().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
    let stats = shop.sandbox.stats();
    // The seeded chaos drops and duplicates some of ~1,700 notifications on every run. Whether
    // a copy also meets the server down (a failed attempt, retried) depends on its random delay
    // falling into the restart's few milliseconds, which no step controls: it is reported below,
    // not required (the sandbox's own tests prove the retries, with a server refusing on cue).
    assert!(stats.dropped > 0 && stats.duplicated > 0, "{stats:?}");
    eprintln!(
        "chaos on {backend:?}: {} orders ({refused} refused), {by_notifications} settled by notifications alone, \
         {} replays, {} forgeries, sandbox {stats:?}, {:.1} s",
        orders.len(),
        attacks.0,
        attacks.1,
        started.elapsed().as_secs_f64()
    );
    shop.app.stop().await;
}
on_both!(a_thousand_orders_through_chaos_credit_every_paid_order_exactly_once);

/// Runs futures concurrently on this task and returns their outputs in order.
async fn futures_join<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}
