//! Buying quota with the built binary: `meterai serve` with the sandbox embedded (the whole
//! main job on embedded defaults), two server processes on one PostgreSQL receiving the same
//! notifications (credited once), and `meterai admin reconcile` curing a dropped notification.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use meterai_sandbox_gateway::{Action, Chaos, Sandbox, SandboxConfig};
use sqlx::Connection;

const SERVER_KEY: &str = "SB-Mid-server-cli-test";
/// How long a condition may take to come true before the test fails.
const DEADLINE: Duration = Duration::from_secs(60);
/// Pause between two looks at a condition.
const POLL_EVERY: Duration = Duration::from_millis(50);

fn meterai(storage: &[&str], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meterai"))
        .args(storage)
        .args(args)
        .output()
        .expect("run meterai")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A `meterai serve` child; killed on drop.
struct Server {
    child: Child,
    url: String,
    /// The embedded sandbox's URL, when it runs one.
    sandbox_url: Option<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `meterai serve` on a free port and reads the URLs it prints.
fn serve(storage: &[&str], args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meterai"))
        .args(storage)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start meterai serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut sandbox_url = None;
    let url = loop {
        let line = lines
            .next()
            .expect("serve printed its address")
            .expect("stdout line");
        if let Some(rest) = line.split("sandbox gateway on ").nth(1) {
            sandbox_url = rest.split_whitespace().next().map(str::to_string);
        }
        if let Some(rest) = line.strip_prefix("meterai is listening on ") {
            break rest.split_whitespace().next().expect("url").to_string();
        }
    };
    // Keep reading so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        url,
        sandbox_url,
    }
}

fn api_key(storage: &[&str], email: &str) -> String {
    let out = meterai(storage, &["admin", "api-key", "create", "--user", email]);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .to_string()
}

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

async fn order(client: &reqwest::Client, server: &str, key: &str, units: i64) -> serde_json::Value {
    let response = client
        .post(format!("{server}/api/v1/orders"))
        .bearer_auth(key)
        .json(&serde_json::json!({ "units": units }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn order_state(client: &reqwest::Client, server: &str, key: &str, id: &str) -> String {
    let order: serde_json::Value = client
        .get(format!("{server}/api/v1/orders/{id}"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    order["state"].as_str().unwrap_or("").to_string()
}

async fn quota(client: &reqwest::Client, server: &str, key: &str) -> i64 {
    let q: serde_json::Value = client
        .get(format!("{server}/api/v1/quota"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    q["available"].as_i64().expect("available")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_the_sandbox_embedded_and_a_new_user_buys_pays_and_gets_a_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let dir_text = dir.path().display().to_string();
    let storage = ["--data-dir", dir_text.as_str()];
    let server = serve(&storage, &["--sandbox-time-scale", "6000"]);
    let sandbox = server
        .sandbox_url
        .clone()
        .expect("no gateway configured: the sandbox runs embedded");
    // Administration works while the server runs.
    assert!(
        meterai(
            &storage,
            &["admin", "stock", "mint", "--units", "50", "--note", "batch"]
        )
        .status
        .success()
    );
    let key = api_key(&storage, "new@example.com");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let stock: serde_json::Value = client
        .get(format!("{}/api/v1/stock", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stock["available"], 50);
    let order = order(&client, &server.url, &key, 3).await;
    let id = order["id"].as_str().unwrap().to_string();
    let page_url = order["payment_url"].as_str().unwrap().to_string();
    assert!(page_url.starts_with(&sandbox), "{page_url}");
    let page = client
        .get(&page_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"pay\""));
    assert_eq!(
        client
            .post(format!("{page_url}/pay"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    eventually("the order is credited", || async {
        order_state(&client, &server.url, &key, &id).await == "credited"
    })
    .await;
    assert_eq!(quota(&client, &server.url, &key).await, 3);
    let receipt = client
        .get(format!("{}/api/v1/orders/{id}/receipt.pdf", server.url))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(receipt.status(), 200);
    assert!(receipt.bytes().await.unwrap().starts_with(b"%PDF-"));
    let audit = meterai(&storage, &["admin", "audit"]);
    assert!(audit.status.success(), "{}", text(&audit));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_on_one_postgres_credit_each_notified_order_once() {
    let base = std::env::var("METERAI_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("pay_cli_{}", std::process::id());
    sqlx::any::install_default_drivers();
    let mut admin = sqlx::AnyConnection::connect(&base)
        .await
        .expect("PostgreSQL is required for this test");
    let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut admin)
        .await
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options[search_path]={schema}");
    let dir = tempfile::tempdir().unwrap();
    let dir_text = dir.path().display().to_string();
    let storage = [
        "--database-url",
        url.as_str(),
        "--data-dir",
        dir_text.as_str(),
    ];

    // A sandbox that never notifies by itself: the test delivers every notification to both.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox_url = format!("http://{}", listener.local_addr().unwrap());
    let mut config = SandboxConfig::new(SERVER_KEY, sandbox_url.clone());
    config.chaos = Chaos {
        drop_per_mille: 1000,
        duplicate_per_mille: 0,
        delay_ms_max: 0,
    };
    let sandbox = Sandbox::new(config);
    tokio::spawn(meterai_sandbox_gateway::serve(
        listener,
        sandbox.clone(),
        std::future::pending(),
    ));

    assert!(
        meterai(
            &storage,
            &[
                "admin", "stock", "mint", "--units", "100", "--note", "batch"
            ]
        )
        .status
        .success()
    );
    let key = api_key(&storage, "buyer@example.com");
    let gateway = [
        "--gateway-snap-url",
        sandbox_url.as_str(),
        "--gateway-server-key",
        SERVER_KEY,
        "--reconcile-every-secs",
        "3600",
    ];
    let node_a = serve(&storage, &gateway);
    let node_b = serve(&storage, &gateway);
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    let mut paid_units = 0;
    for n in 0..20 {
        let units = 1 + n % 2;
        let order = order(&client, &node_a.url, &key, units).await;
        let id = order["id"].as_str().unwrap().to_string();
        sandbox.act(&id, Action::Pay).expect("pay");
        paid_units += units;
        ids.push(id);
    }
    // Each notification reaches both nodes three times, all at once.
    let mut deliveries = Vec::new();
    for id in &ids {
        let body = sandbox
            .transaction(id)
            .unwrap()
            .to_json(SERVER_KEY)
            .to_string();
        for node in [
            &node_a.url,
            &node_b.url,
            &node_a.url,
            &node_b.url,
            &node_a.url,
            &node_b.url,
        ] {
            let (client, url, body) = (
                client.clone(),
                format!("{node}/api/v1/payments/notifications"),
                body.clone(),
            );
            deliveries.push(tokio::spawn(async move {
                client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }));
        }
    }
    for delivery in deliveries {
        assert_eq!(delivery.await.unwrap(), 200);
    }
    for id in &ids {
        eventually("every paid order is credited", || async {
            order_state(&client, &node_b.url, &key, id).await == "credited"
        })
        .await;
    }
    assert_eq!(
        quota(&client, &node_a.url, &key).await,
        paid_units,
        "each order credited exactly once"
    );

    // A payment whose notification never comes: `meterai admin reconcile` settles it.
    let order = order(&client, &node_b.url, &key, 2).await;
    let late = order["id"].as_str().unwrap().to_string();
    sandbox.act(&late, Action::Pay).expect("pay");
    let reconcile = meterai(
        &storage,
        &[
            "admin",
            "reconcile",
            "--gateway-api-url",
            sandbox_url.as_str(),
            "--gateway-server-key",
            SERVER_KEY,
            "--reconcile-after-secs",
            "0",
        ],
    );
    assert!(reconcile.status.success(), "{}", text(&reconcile));
    assert!(
        text(&reconcile).contains("1 credited"),
        "{}",
        text(&reconcile)
    );
    assert_eq!(
        order_state(&client, &node_a.url, &key, &late).await,
        "credited"
    );
    assert_eq!(quota(&client, &node_b.url, &key).await, paid_units + 2);
    let audit = meterai(&storage, &["admin", "audit"]);
    assert!(audit.status.success(), "{}", text(&audit));
    drop((node_a, node_b));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut admin)
        .await
        .unwrap();
}
