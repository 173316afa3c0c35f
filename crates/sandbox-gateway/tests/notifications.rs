//! The sandbox's notifications behave like Midtrans's: signed, retried on the documented
//! schedule (compressed here) when the receiver refuses, abandoned after the last retry.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use meterai_core::midtrans::signature_matches;
use meterai_sandbox_gateway::{Action, Chaos, RETRY_SCHEDULE_MINUTES, Sandbox, SandboxConfig};
use tokio::sync::Mutex;

const KEY: &str = "SB-Mid-server-unit";
/// Gateway minutes pass 60,000 times faster: the retries come after 2, 10, 30, 90, 210 ms.
const TIME_SCALE: f64 = 60_000.0;

/// A receiver that refuses the first `refusals` deliveries and records when each came.
async fn receiver(refusals: usize) -> (String, Arc<Mutex<Vec<(Instant, serde_json::Value)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let (log, counter) = (seen.clone(), count.clone());
    let app = axum::Router::new().route(
        "/notify",
        axum::routing::post(move |body: axum::body::Bytes| {
            let (log, counter) = (log.clone(), counter.clone());
            async move {
                log.lock().await.push((Instant::now(), serde_json::from_slice(&body).unwrap_or_default()));
                if counter.fetch_add(1, Ordering::SeqCst) < refusals { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

async fn sandbox_paying_one_order(notify: &str) -> (Sandbox, reqwest::Client, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut config = SandboxConfig::new(KEY, url.clone());
    config.time_scale = TIME_SCALE;
    config.chaos = Chaos::NONE;
    config.notification_url = Some(notify.to_string());
    let sandbox = Sandbox::new(config);
    tokio::spawn(meterai_sandbox_gateway::serve(listener, sandbox.clone(), std::future::pending()));
    (sandbox, reqwest::Client::new(), url)
}

async fn wait_idle(sandbox: &Sandbox) {
    let until = Instant::now() + Duration::from_secs(20);
    while sandbox.stats().in_flight > 0 {
        assert!(Instant::now() < until, "deliveries still in flight: {:?}", sandbox.stats());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_notification_is_retried_on_the_schedule_until_accepted() {
    let (notify, seen) = receiver(3).await;
    let (sandbox, client, url) = sandbox_paying_one_order(&notify).await;
    let body = serde_json::json!({ "transaction_details": { "order_id": "MTR-1", "gross_amount": 10000 } });
    let created = client.post(format!("{url}/snap/v1/transactions")).basic_auth(KEY, Some("")).json(&body).send().await.unwrap();
    assert_eq!(created.status(), 201);
    wait_idle(&sandbox).await;
    let seen = seen.lock().await;
    assert_eq!(seen.len(), 4, "the first try and three retries");
    for pair in seen.windows(2).zip(RETRY_SCHEDULE_MINUTES) {
        let (window, minutes) = pair;
        let waited = window[1].0 - window[0].0;
        assert!(waited >= Duration::from_secs_f64(minutes * 60.0 / TIME_SCALE), "{waited:?} before a retry due after {minutes} minutes");
    }
    let n = &seen[0].1;
    assert_eq!(n["transaction_status"], "pending");
    assert_eq!(n["gross_amount"], "10000.00");
    let signed = |f: &str| n[f].as_str().unwrap().to_string();
    assert!(signature_matches(&signed("signature_key"), &signed("order_id"), &signed("status_code"), &signed("gross_amount"), KEY));
    let stats = sandbox.stats();
    assert_eq!((stats.attempts, stats.delivered, stats.abandoned), (4, 1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_refused_every_time_is_abandoned_after_the_last_retry() {
    let (notify, seen) = receiver(usize::MAX).await;
    let (sandbox, client, url) = sandbox_paying_one_order(&notify).await;
    let body = serde_json::json!({ "transaction_details": { "order_id": "MTR-2", "gross_amount": 20000 } });
    client.post(format!("{url}/snap/v1/transactions")).basic_auth(KEY, Some("")).json(&body).send().await.unwrap();
    wait_idle(&sandbox).await;
    assert_eq!(seen.lock().await.len(), 1 + RETRY_SCHEDULE_MINUTES.len());
    assert_eq!(sandbox.stats().abandoned, 1);
    // The buttons work once; the status API tells the truth.
    sandbox.act("MTR-2", Action::Pay).expect("pay");
    assert!(sandbox.act("MTR-2", Action::Expire).is_err(), "a settled transaction does not expire");
    let status: serde_json::Value =
        client.get(format!("{url}/v2/MTR-2/status")).basic_auth(KEY, Some("")).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["transaction_status"], "settlement");
    let unauthorized = client.get(format!("{url}/v2/MTR-2/status")).basic_auth("wrong", Some("")).send().await.unwrap();
    assert_eq!(unauthorized.status(), 401);
    let unknown = client.get(format!("{url}/v2/MTR-404/status")).basic_auth(KEY, Some("")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let duplicate = client.post(format!("{url}/snap/v1/transactions")).basic_auth(KEY, Some("")).json(&body).send().await.unwrap();
    assert_eq!(duplicate.status(), 400, "an order id is used once");
}
