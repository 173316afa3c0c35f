//! Black-box tests of the HTTP service: the real server on a free port, on SQLite and on
//! PostgreSQL, driven over HTTP.

mod common;

use common::{Backend, StampForm, TestApp, dev_signer, error_code, spawn_app, spawn_app_with, spawn_app_with_signer};
use meterai_core::Clock;
use sha2::{Digest, Sha256};

on_both_backends!(
    health_readiness_and_metrics_answer,
    a_corpus_pdf_is_stamped_downloaded_and_verified_with_its_serial_stamped,
    a_non_pdf_is_refused_with_not_pdf_and_the_quota_is_back,
    when_the_original_cannot_be_kept_the_stamping_fails_with_its_unit_back_and_works_once_it_can,
    each_retention_pass_continues_where_the_last_left_off_until_every_expired_original_is_gone,
    a_retention_pass_leaves_an_expired_original_that_a_stamping_began_to_use_after_the_pass_found_it,
    a_replay_returns_the_same_stamping_and_a_changed_request_under_the_key_is_409,
    another_users_stamping_and_document_are_404_and_no_key_is_401,
    a_mistyped_serial_is_400_and_an_unknown_one_is_404,
    without_quota_the_stamping_is_402_and_nothing_is_consumed,
    an_upload_over_the_limit_is_413_too_large_and_consumes_nothing,
    a_client_that_hangs_up_mid_stamp_finds_its_stamping_done_under_its_idempotency_key,
);

async fn json(response: reqwest::Response) -> serde_json::Value {
    response.json().await.expect("JSON body")
}

async fn assert_audit_clean(app: &TestApp) {
    let report = app.ledger.audit().await.expect("audit");
    assert!(report.is_clean(), "audit violations: {:?}", report.violations);
}

async fn health_readiness_and_metrics_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let health = app.client.get(app.url("/healthz")).send().await.expect("healthz");
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"), "every response carries a request id");
    assert_eq!(app.client.get(app.url("/readyz")).send().await.expect("readyz").status(), 200);
    let metrics = app.client.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("meterai_http_requests_total{route=\"/healthz\",status=\"200\"} 1"), "{metrics}");
    assert!(metrics.contains("meterai_stock_units 0"), "{metrics}");
    assert!(metrics.contains("meterai_quota_units{state=\"reserved\"} 0"), "{metrics}");
    assert!(metrics.contains("meterai_http_request_duration_seconds_count{route=\"/healthz\"} 1"), "{metrics}");
    assert!(metrics.contains("meterai_stampings_total{outcome=\"stamped\"} 0"), "{metrics}");
    let openapi = app.client.get(app.url("/api/openapi.json")).send().await.expect("openapi");
    assert_eq!(openapi.status(), 200);
    assert_eq!(openapi.headers()["content-type"], "application/json");
    let openapi = json(openapi).await;
    assert!(openapi["paths"]["/api/v1/stampings"]["post"].is_object(), "{openapi}");
    let missing = app.client.get(app.url("/no/such/page")).send().await.expect("404");
    assert_eq!(missing.status(), 404);
    app.stop().await;
}

async fn a_corpus_pdf_is_stamped_downloaded_and_verified_with_its_serial_stamped(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, key) = app.user_with_key("owner@example.id", 3).await;
    let form = StampForm::corpus_letter();
    let response = app.stamp(&key, "order-1", &form).await;
    assert_eq!(response.status(), 201);
    let stamping = json(response).await;
    assert_eq!(stamping["status"], "stamped", "{stamping}");
    let sn = stamping["serial"].as_str().expect("serial").to_string();
    let id = stamping["id"].as_str().expect("id").to_string();
    assert_eq!(app.quota(&key).await, (2, 0, 1));

    let document = app.get_with(&key, &format!("/api/v1/stampings/{id}/document")).await;
    assert_eq!(document.status(), 200);
    assert_eq!(document.headers()["content-type"], "application/pdf");
    let bytes = document.bytes().await.expect("document").to_vec();
    assert!(bytes.len() > form.file.len() && bytes.starts_with(&form.file), "the stamped PDF is the original plus a tail");
    let sha: [u8; 32] = Sha256::digest(&bytes).into();
    let sha_hex: String = sha.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(stamping["document_sha256"], sha_hex.as_str());

    let verified = app.client.post(app.url("/api/v1/verify")).header("content-type", "application/pdf").body(bytes.clone()).send().await.expect("verify");
    assert_eq!(verified.status(), 200);
    let report = json(verified).await;
    let ours = report["signatures"].as_array().expect("signatures").iter().find(|s| s["serial"]["sn"] == sn.as_str()).cloned().expect("our signature");
    let verdict = ours["verdict"].as_str().expect("verdict");
    assert!(verdict == "VALID" || verdict == "INDETERMINATE", "{ours}");
    assert_eq!(ours["serial"]["state"], "STAMPED", "{ours}");

    let serial = json(app.client.get(app.url(&format!("/api/v1/serials/{sn}"))).send().await.expect("serial")).await;
    assert_eq!(serial["state"], "STAMPED");
    assert_eq!(serial["doc_type"], "4b");
    assert_eq!(serial["document_sha256"], sha_hex.as_str());
    assert!(serial.get("owner").is_none() && serial.get("user").is_none(), "the public view names no owner: {serial}");

    let page = app.client.get(app.url(&format!("/v/{sn}"))).send().await.expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("dibubuhkan") && html.contains(&sn), "{html}");

    let upload = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name("stamped.pdf"));
    let result = app.client.post(app.url("/verify")).multipart(upload).send().await.expect("verify page");
    assert_eq!(result.status(), 200);
    let html = result.text().await.expect("html");
    assert!(html.contains(&sn) && html.contains("Terdaftar"), "{html}");

    let list = json(app.get_with(&key, "/api/v1/stampings").await).await;
    assert_eq!(list["stampings"][0]["id"], id.as_str());
    let one = json(app.get_with(&key, &format!("/api/v1/stampings/{id}")).await).await;
    assert_eq!(one["serial"], sn.as_str());
    let metrics = app.client.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("meterai_stampings_total{outcome=\"stamped\"} 1"), "{metrics}");
    assert_audit_clean(&app).await;
    app.stop().await;
}

async fn a_non_pdf_is_refused_with_not_pdf_and_the_quota_is_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, key) = app.user_with_key("owner@example.id", 1).await;
    let form = StampForm { file: b"hello, this is not a PDF at all".to_vec(), file_name: "note.txt".into(), ..StampForm::corpus_letter() };
    let response = app.stamp(&key, "junk-1", &form).await;
    assert!(response.status().is_client_error(), "{}", response.status());
    let body = json(response).await;
    assert_eq!(error_code(&body), "NOT_PDF", "{body}");
    assert_eq!(body["stamping"]["status"], "failed");
    assert_eq!(body["stamping"]["quota_returned"], true);
    assert_eq!(app.quota(&key).await, (1, 0, 0));
    assert_audit_clean(&app).await;
    app.stop().await;
}

/// Makes keeping originals fail (`refuse`) or work again, the way each backend's store can
/// fail: a file where SQLite's blob directory goes, a table that refuses rows on PostgreSQL.
async fn refuse_originals(app: &TestApp, backend: Backend, refuse: bool) {
    match backend {
        Backend::Sqlite => {
            let blobs = app.dir.path().join(meterai_web::blobs::BLOBS_DIR);
            if refuse {
                std::fs::write(&blobs, b"a file, not the blob directory").expect("block the blob directory");
            } else {
                std::fs::remove_file(&blobs).expect("unblock");
            }
        }
        Backend::Postgres => {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&app.location).await.expect("connect");
            let sql = if refuse {
                "ALTER TABLE originals ADD CONSTRAINT refuse_every_row CHECK (false) NOT VALID"
            } else {
                "ALTER TABLE originals DROP CONSTRAINT refuse_every_row"
            };
            sqlx::raw_sql(sql).execute(&mut conn).await.expect("alter originals");
        }
    }
}

async fn when_the_original_cannot_be_kept_the_stamping_fails_with_its_unit_back_and_works_once_it_can(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, key) = app.user_with_key("owner@example.id", 1).await;
    refuse_originals(&app, backend, true).await;
    let failed = app.stamp(&key, "keep-1", &StampForm::corpus_letter()).await;
    assert_eq!(failed.status(), 500, "a stamp whose original cannot be kept is not handed out");
    assert_eq!(error_code(&json(failed).await), "INTERNAL");
    assert_eq!(app.quota(&key).await, (1, 0, 0), "the unit is back at once");
    let listed: serde_json::Value = app.get_with(&key, "/api/v1/stampings").await.json().await.expect("list");
    let stamping = &listed["stampings"][0];
    assert_eq!((stamping["status"].as_str(), stamping["quota_returned"].as_bool()), (Some("failed"), Some(true)), "{listed}");
    refuse_originals(&app, backend, false).await;
    let stamped = app.stamp(&key, "keep-2", &StampForm::corpus_letter()).await;
    assert_eq!(stamped.status(), 201);
    assert_eq!(app.quota(&key).await, (0, 0, 1));
    assert_audit_clean(&app).await;
    app.stop().await;
}

async fn each_retention_pass_continues_where_the_last_left_off_until_every_expired_original_is_gone(backend: Backend) {
    let clock = std::sync::Arc::new(meterai_core::ManualClock::new(meterai_core::Timestamp(1_780_000_000_000)));
    let app = common::spawn_app_with_clock(backend, meterai_web::UPLOAD_BYTES_MAX, clock.clone()).await;
    let (_, key) = app.user_with_key("owner@example.id", 3).await;
    let mut originals = Vec::new();
    for n in 0..3 {
        let mut form = StampForm::corpus_letter();
        form.file.extend_from_slice(format!("\n% original {n}\n").as_bytes());
        assert_eq!(app.stamp(&key, &format!("retained-{n}"), &form).await.status(), 201);
        originals.push(meterai_web::blobs::sha256(&form.file));
        // The first two finish in the same millisecond: a pass may stop between them.
        if n > 0 {
            clock.advance(1_000);
        }
    }
    let kept = || async {
        let mut count = 0;
        for sha in &originals {
            count += usize::from(app.state.originals.get(*sha).await.expect("read").is_some());
        }
        count
    };
    assert_eq!(meterai_web::retention::purge_pass(&app.state, 1).await.expect("purge"), 0, "within retention");
    assert_eq!(kept().await, 3);
    clock.advance(i64::from(meterai_web::DOWNLOAD_RETENTION_DAYS + 1) * 86_400_000);
    // One stamping per pass: each pass must find a new one, not the one already purged.
    for left in [2, 1, 0] {
        assert_eq!(meterai_web::retention::purge_pass(&app.state, 1).await.expect("purge"), 1);
        assert_eq!(kept().await, left);
    }
    assert_eq!(meterai_web::retention::purge_pass(&app.state, 1).await.expect("purge"), 0, "nothing left");
    assert_audit_clean(&app).await;
    app.stop().await;
}

async fn a_retention_pass_leaves_an_expired_original_that_a_stamping_began_to_use_after_the_pass_found_it(
    backend: Backend,
) {
    let clock = std::sync::Arc::new(meterai_core::ManualClock::new(meterai_core::Timestamp(1_780_000_000_000)));
    let app = common::spawn_app_with_clock(backend, meterai_web::UPLOAD_BYTES_MAX, clock.clone()).await;
    let (_, key) = app.user_with_key("owner@example.id", 2).await;
    let form = StampForm::corpus_letter();
    let sha = meterai_web::blobs::sha256(&form.file);
    assert_eq!(app.stamp(&key, "first", &form).await.status(), 201);
    clock.advance(i64::from(meterai_web::DOWNLOAD_RETENTION_DAYS + 1) * 86_400_000);
    // The pass's search, as a pass makes it: the original is past its retention.
    let now = clock.now();
    let cutoff = now.plus_millis(-i64::from(meterai_web::DOWNLOAD_RETENTION_DAYS) * 86_400_000);
    let draft_cutoff = now.plus_millis(-meterai_web::portal::stamp::DRAFT_TTL_MS);
    let (found, _) = app.state.ledger.originals_unused_since(cutoff, draft_cutoff, 10).await.expect("search");
    assert_eq!(found, vec![sha]);
    // Meanwhile its owner stamps the same document again; keeping its original finds it kept.
    let again = json(app.stamp(&key, "again", &form).await).await;
    let id = again["id"].as_str().expect("id").to_string();
    // The pass's removal must see the new stamping.
    let removed = app.state.originals.remove_unless_needed(found, cutoff, draft_cutoff).await.expect("purge");
    assert_eq!(removed, 0, "the new stamping needs it");
    let document = app.get_with(&key, &format!("/api/v1/stampings/{id}/document")).await;
    assert_eq!(document.status(), 200, "the new stamping's document downloads");
    // Once that stamping's retention is over too, a pass removes the original.
    clock.advance(i64::from(meterai_web::DOWNLOAD_RETENTION_DAYS + 1) * 86_400_000);
    assert_eq!(meterai_web::retention::purge_pass(&app.state, 10).await.expect("purge"), 1);
    assert_eq!(app.state.originals.get(sha).await.expect("read"), None);
    assert_audit_clean(&app).await;
    app.stop().await;
}

async fn a_replay_returns_the_same_stamping_and_a_changed_request_under_the_key_is_409(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, key) = app.user_with_key("owner@example.id", 5).await;
    let form = StampForm::corpus_letter();
    let first = json(app.stamp(&key, "same-key", &form).await).await;
    let replay = app.stamp(&key, "same-key", &form).await;
    assert_eq!(replay.status(), 200);
    let replay = json(replay).await;
    // Field for field: the first answer is built from what was committed, the replay is read back.
    assert_eq!(replay, first);
    assert_eq!(app.quota(&key).await, (4, 0, 1), "a replay consumes nothing");
    let changed = StampForm { doc_number: "SK-002/2026".into(), ..form };
    let conflict = app.stamp(&key, "same-key", &changed).await;
    assert_eq!(conflict.status(), 409);
    assert_eq!(error_code(&json(conflict).await), "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(app.quota(&key).await, (4, 0, 1));
    assert_audit_clean(&app).await;
    app.stop().await;
}

async fn another_users_stamping_and_document_are_404_and_no_key_is_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner) = app.user_with_key("owner@example.id", 1).await;
    let (_, other) = app.user_with_key("other@example.id", 1).await;
    let stamping = json(app.stamp(&owner, "k1", &StampForm::corpus_letter()).await).await;
    let id = stamping["id"].as_str().expect("id");
    for path in [format!("/api/v1/stampings/{id}"), format!("/api/v1/stampings/{id}/document")] {
        let response = app.get_with(&other, &path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(error_code(&json(response).await), "NOT_FOUND");
    }
    let list = json(app.get_with(&other, "/api/v1/stampings").await).await;
    assert_eq!(list["stampings"].as_array().map(Vec::len), Some(0));
    let anonymous = app.client.get(app.url(&format!("/api/v1/stampings/{id}"))).send().await.expect("GET");
    assert_eq!(anonymous.status(), 401);
    assert_eq!(error_code(&json(anonymous).await), "UNAUTHENTICATED");
    let wrong = app.get_with("mtr_0000", "/api/v1/quota").await;
    assert_eq!(wrong.status(), 401);
    let no_key_header = app.client.post(app.url("/api/v1/stampings")).bearer_auth(&owner).send().await.expect("POST");
    assert_eq!(no_key_header.status(), 400);
    assert_eq!(error_code(&json(no_key_header).await), "IDEMPOTENCY_KEY_REQUIRED");
    app.stop().await;
}

async fn a_mistyped_serial_is_400_and_an_unknown_one_is_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let unknown = meterai_core::Serial::offline(1_767_225_600_000_000_000, 42).to_string();
    let response = app.client.get(app.url(&format!("/api/v1/serials/{unknown}"))).send().await.expect("GET");
    assert_eq!(response.status(), 404);
    assert_eq!(error_code(&json(response).await), "SERIAL_UNKNOWN");
    // Change one character: the check character no longer matches.
    let mut chars: Vec<char> = unknown.chars().collect();
    chars[5] = if chars[5] == '7' { '8' } else { '7' };
    let mistyped: String = chars.into_iter().collect();
    let response = app.client.get(app.url(&format!("/api/v1/serials/{mistyped}"))).send().await.expect("GET");
    assert_eq!(response.status(), 400);
    assert_eq!(error_code(&json(response).await), "SERIAL_MISTYPED");
    let page = app.client.get(app.url(&format!("/v/{mistyped}"))).send().await.expect("page");
    assert_eq!(page.status(), 404);
    assert!(page.text().await.expect("html").contains("salah ketik"));
    app.stop().await;
}

async fn without_quota_the_stamping_is_402_and_nothing_is_consumed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, key) = app.user_with_key("broke@example.id", 0).await;
    let response = app.stamp(&key, "k1", &StampForm::corpus_letter()).await;
    assert_eq!(response.status(), 402);
    let body = json(response).await;
    assert_eq!(error_code(&body), "INSUFFICIENT_QUOTA", "{body}");
    assert_eq!(body["stamping"]["serial"], serde_json::Value::Null, "no serial was reserved");
    assert_eq!(app.quota(&key).await, (0, 0, 0));
    assert_audit_clean(&app).await;
    app.stop().await;
}

async fn an_upload_over_the_limit_is_413_too_large_and_consumes_nothing(backend: Backend) {
    let app = spawn_app_with(backend, 10_000).await;
    let (_, key) = app.user_with_key("owner@example.id", 1).await;
    let form = StampForm::corpus_letter();
    assert!(form.file.len() > 10_000);
    let response = app.stamp(&key, "big", &form).await;
    assert_eq!(response.status(), 413);
    assert_eq!(error_code(&json(response).await), "TOO_LARGE");
    let raw = app.client.post(app.url("/api/v1/verify")).header("content-type", "application/pdf").body(vec![b'%'; 200_000]).send().await.expect("verify");
    assert_eq!(raw.status(), 413);
    assert_eq!(app.quota(&key).await, (1, 0, 0));
    assert_audit_clean(&app).await;
    app.stop().await;
}

/// A signer that stops inside the stamp until the test lets it go: "mid-stamp" made certain.
struct GatedSigner {
    inner: meterai_sign::LocalKeySigner,
    /// Told (once) that a stamp reached the signature.
    entered: std::sync::mpsc::SyncSender<()>,
    /// Waited on before signing.
    release: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
}

/// Longest a gated stamp waits for the test, so a failing test cannot hang the server.
const GATE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

impl meterai_sign::Signer for GatedSigner {
    fn algorithm(&self) -> meterai_sign::SignatureAlgorithm {
        self.inner.algorithm()
    }
    fn certificate_der(&self) -> &[u8] {
        self.inner.certificate_der()
    }
    fn chain_der(&self) -> &[Vec<u8>] {
        self.inner.chain_der()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, meterai_sign::SignError> {
        let _ = self.entered.try_send(());
        let _ = self.release.lock().expect("gate").recv_timeout(GATE_WAIT);
        self.inner.sign(message)
    }
    fn signature_len_max(&self) -> usize {
        self.inner.signature_len_max()
    }
}

/// The raw bytes of a stamping request, so the test can hang up on its own socket.
fn raw_stamping_request(app: &TestApp, key: &str, idempotency_key: &str, form: &StampForm) -> Vec<u8> {
    let boundary = "meterai-hang-up-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: application/pdf\r\n\r\n", form.file_name).as_bytes(),
    );
    body.extend_from_slice(&form.file);
    body.extend_from_slice(b"\r\n");
    for (name, value) in [("page", "1"), ("at", form.at.as_str()), ("doc_type", &form.doc_type), ("doc_number", &form.doc_number), ("doc_date", &form.doc_date)] {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let mut request = format!(
        "POST /api/v1/stampings HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {key}\r\nIdempotency-Key: {idempotency_key}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        app.addr,
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    request
}

async fn a_client_that_hangs_up_mid_stamp_finds_its_stamping_done_under_its_idempotency_key(backend: Backend) {
    use tokio::io::AsyncWriteExt;
    let (entered_tx, entered_rx) = std::sync::mpsc::sync_channel(1);
    let (release_tx, release_rx) = std::sync::mpsc::channel();
    let signer = GatedSigner { inner: dev_signer(), entered: entered_tx, release: std::sync::Mutex::new(release_rx) };
    let app = spawn_app_with_signer(backend, std::sync::Arc::new(signer)).await;
    let (_, key) = app.user_with_key("owner@example.id", 2).await;
    let form = StampForm::corpus_letter();

    let mut socket = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    socket.write_all(&raw_stamping_request(&app, &key, "hang-up-1", &form)).await.expect("send the request");
    // The stamp is now inside the signature: reserved, not yet posted.
    tokio::task::spawn_blocking(move || entered_rx.recv_timeout(GATE_WAIT)).await.expect("join").expect("the stamp reached the signer");
    assert_eq!(app.quota(&key).await, (1, 1, 0), "one unit is reserved while the stamp is in flight");
    drop(socket); // the client is gone
    release_tx.send(()).expect("release the signer");

    // Server-side, the stamping completes and shows in the owner's list.
    let deadline = tokio::time::Instant::now() + GATE_WAIT;
    let listed = loop {
        let list = json(app.get_with(&key, "/api/v1/stampings").await).await;
        let mine = list["stampings"].as_array().and_then(|a| a.iter().find(|s| s["idempotency_key"] == "hang-up-1").cloned());
        if let Some(s) = mine.filter(|s| s["status"] != "processing") {
            break s;
        }
        assert!(tokio::time::Instant::now() < deadline, "the stamping did not finish: {list}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(listed["status"], "stamped", "{listed}");
    assert_eq!(app.quota(&key).await, (1, 0, 1));

    // The idempotency key retrieves it; retrying costs nothing more.
    let replay = app.stamp(&key, "hang-up-1", &form).await;
    assert_eq!(replay.status(), 200);
    let replay = json(replay).await;
    assert_eq!((&replay["id"], &replay["serial"]), (&listed["id"], &listed["serial"]));
    assert_eq!(app.quota(&key).await, (1, 0, 1));
    assert_audit_clean(&app).await;
    app.stop().await;
}
