//! Black-box tests of the document owners' portal: the real server on a free port, on SQLite
//! and on PostgreSQL, driven over HTTP like a browser (cookies, forms, redirects).

mod common;

use std::sync::Arc;

use common::browser::Browser;
use common::{Backend, CORPUS_FILE, TestApp, corpus, spawn_app, spawn_app_with, spawn_app_with_clock};
use meterai_core::{ManualClock, Timestamp};

on_both_backends!(
    registering_logs_in_with_httponly_samesite_cookies_and_logout_ends_the_session,
    a_wrong_password_and_an_unknown_address_get_the_same_generic_error,
    every_state_changing_form_refuses_a_missing_or_wrong_csrf_token,
    login_is_rate_limited_per_address_and_per_client,
    the_stamp_journey_uploads_previews_stamps_and_the_download_verifies,
    a_refused_placement_fails_and_the_result_page_says_the_quota_is_back,
    history_filters_and_pages_and_after_retention_the_original_gives_the_document_back,
    an_upload_left_as_a_draft_goes_with_its_original_after_a_day_and_a_stamped_upload_keeps_its_original,
    another_users_drafts_previews_stampings_documents_and_keys_are_404,
    bad_uploads_get_clear_codes_and_consume_no_quota,
    api_keys_are_created_once_and_revoked_on_the_page,
);

const PASSWORD: &str = "kata-sandi-rahasia";

async fn logged_in(app: &TestApp, email: &str, units: i64) -> Browser {
    let mut browser = Browser::new(app);
    browser.register(email, PASSWORD).await;
    if units > 0 {
        app.user_with_key(email, units).await;
    }
    browser
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("{start:?} not in {text}")) + start.len();
    let rest = &text[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

async fn assert_audit_clean(app: &TestApp) {
    let report = app.ledger.audit().await.expect("audit");
    assert!(report.is_clean(), "audit violations: {:?}", report.violations);
}

async fn registering_logs_in_with_httponly_samesite_cookies_and_logout_ends_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut b = Browser::new(&app);
    let form = b.get("/register").await;
    assert_eq!(form.status, 200);
    let text = form.text();
    for id in ["register-form", "id=\"email\"", "id=\"password\"", "register-submit", "lang-switch", "<html lang=\"id\""] {
        assert!(text.contains(id), "{id} missing: {text}");
    }
    b.register("Ani@Example.id", PASSWORD).await;
    let session_cookie = b.set_cookies.iter().find(|c| c.starts_with("meterai_session=")).expect("session cookie").clone();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session_cookie.contains(attribute), "{session_cookie}");
    }
    assert!(!session_cookie.contains("Secure"), "plain http public URL: no Secure flag: {session_cookie}");
    let csrf_cookie = b.set_cookies.iter().find(|c| c.starts_with("meterai_csrf=")).expect("csrf cookie");
    assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Lax"), "{csrf_cookie}");

    let dashboard = b.get("/dashboard").await;
    assert_eq!(dashboard.status, 200);
    let text = dashboard.text();
    assert_eq!(between(&text, "id=\"quota-available\" class=\"big\">", "<"), "0");
    for id in ["nav-dashboard", "nav-stamp", "nav-history", "nav-quota", "nav-api-keys", "logout-form", "id=\"logout\""] {
        assert!(text.contains(id), "{id} missing");
    }
    let token = b.session_csrf().await;
    let out = b.post_form("/logout", &[("csrf", &token)]).await;
    assert_eq!((out.status, out.location.as_deref()), (303, Some("/login")));
    let after = b.get("/dashboard").await;
    assert_eq!((after.status, after.location.as_deref()), (303, Some("/login")), "the session ended");

    let again = b.login("ani@example.id", PASSWORD).await;
    assert_eq!((again.status, again.location.as_deref()), (303, Some("/dashboard")));
    assert_eq!(b.get("/dashboard").await.status, 200);

    // The same address cannot be registered twice.
    let mut other = Browser::new(&app);
    let form = other.get("/register").await;
    let taken = other.post_form("/register", &[("email", "ani@example.id"), ("password", "another-password"), ("csrf", &form.csrf())]).await;
    assert_eq!(taken.status, 409);
    assert!(taken.text().contains("form-error"));

    // English by cookie, Indonesian by default.
    let switched = b.get("/lang/en?next=/dashboard").await;
    assert_eq!((switched.status, switched.location.as_deref()), (303, Some("/dashboard")));
    let english = b.get("/dashboard").await.text();
    assert!(english.contains("<html lang=\"en\"") && english.contains("Quota available"), "{english}");
    let elsewhere = b.get("/lang/id?next=//evil.example").await;
    assert_eq!(elsewhere.location.as_deref(), Some("/"), "never an open redirect");
    app.stop().await;
}

async fn a_wrong_password_and_an_unknown_address_get_the_same_generic_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut b = logged_in(&app, "budi@example.id", 0).await;
    let wrong = b.login("budi@example.id", "not-the-password").await;
    let unknown = b.login("nobody@example.id", "not-the-password").await;
    assert_eq!((wrong.status, unknown.status), (401, 401));
    let error = |p: &common::browser::Page| between(&p.text(), "<p id=\"form-error\" class=\"error\">", "</p>").to_string();
    assert_eq!(error(&wrong), error(&unknown));
    assert!(wrong.text().contains("login-form"));
    app.stop().await;
}

async fn every_state_changing_form_refuses_a_missing_or_wrong_csrf_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut owner = logged_in(&app, "owner@example.id", 2).await;
    let draft = owner.upload(&corpus(CORPUS_FILE), CORPUS_FILE).await;
    let stamping = owner.confirm(&draft, "300", "100").await;
    let keys_page = owner.get("/api-keys").await;
    let created = owner.post_form("/api-keys", &[("label", "erp"), ("csrf", &keys_page.csrf())]).await;
    assert_eq!(created.status, 200);
    let key_id = between(&created.text(), "class=\"api-key\" data-id=\"", "\"").to_string();
    let letter = corpus(CORPUS_FILE);

    for token in [None, Some("wrong-token")] {
        let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, String)> {
            let mut v: Vec<(&str, String)> = extra.iter().map(|(k, v)| (*k, v.to_string())).collect();
            if let Some(t) = token {
                v.push(("csrf", t.to_string()));
            }
            v
        };
        let mut anonymous = Browser::new(&app);
        anonymous.get("/login").await; // gets the double-submit cookie
        for (path, fields) in [
            ("/register", with(&[("email", "new@example.id"), ("password", PASSWORD)])),
            ("/login", with(&[("email", "owner@example.id"), ("password", PASSWORD)])),
        ] {
            let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let page = anonymous.post_form(path, &refs).await;
            assert_eq!(page.status, 403, "{path} {token:?}: {}", page.text());
            assert!(page.text().contains("CSRF_TOKEN_INVALID"), "{path}");
        }
        let form_posts: Vec<(String, Vec<(&str, String)>)> = vec![
            ("/logout".into(), with(&[])),
            (format!("/stamp/{draft}"), with(&[("box_x", "300"), ("box_y", "100"), ("doc_type", "3")])),
            ("/api-keys".into(), with(&[("label", "x")])),
            (format!("/api-keys/{key_id}/revoke"), with(&[])),
        ];
        for (path, fields) in form_posts {
            let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let page = owner.post_form(&path, &refs).await;
            assert_eq!(page.status, 403, "{path} {token:?}: {}", page.text());
            assert!(page.text().contains("CSRF_TOKEN_INVALID"), "{path}");
        }
        for path in ["/stamp".to_string(), format!("/stampings/{stamping}/document"), "/stampings/restore".to_string()] {
            let fields: Vec<(&str, &str)> = token.map(|t| vec![("csrf", t)]).unwrap_or_default();
            let page = owner.post_file(&path, &letter, CORPUS_FILE, &fields).await;
            assert_eq!(page.status, 403, "{path} {token:?}: {}", page.text());
            assert!(page.text().contains("CSRF_TOKEN_INVALID"), "{path}");
        }
    }
    // Nothing was done by the refused forms: still logged in, one stamping, the key alive.
    assert_eq!(owner.get("/dashboard").await.status, 200);
    assert_eq!(owner.get("/history").await.text().matches("class=\"stamping\"").count(), 1);
    assert!(owner.get("/api-keys").await.text().contains("Cabut"), "the key is not revoked");
    assert!(app.ledger.credentials("new@example.id").await.expect("lookup").is_none());
    app.stop().await;
}

async fn login_is_rate_limited_per_address_and_per_client(backend: Backend) {
    use meterai_web::portal::account::{LOGIN_ATTEMPTS_PER_EMAIL_PER_MINUTE_MAX, LOGIN_ATTEMPTS_PER_IP_PER_MINUTE_MAX};
    let clock = Arc::new(ManualClock::new(Timestamp(1_780_000_000_000)));
    let app = spawn_app_with_clock(backend, meterai_web::UPLOAD_BYTES_MAX, clock.clone()).await;
    let mut b = logged_in(&app, "citra@example.id", 0).await;
    for _ in 0..LOGIN_ATTEMPTS_PER_EMAIL_PER_MINUTE_MAX {
        assert_eq!(b.login("citra@example.id", "wrong-password").await.status, 401);
    }
    let limited = b.login("citra@example.id", PASSWORD).await;
    assert_eq!(limited.status, 429, "even the right password waits: {}", limited.text());
    assert!(limited.text().contains("RATE_LIMITED"));
    clock.advance(61_000);
    assert_eq!(b.login("citra@example.id", PASSWORD).await.status, 303, "the window passed");

    // Per client address: many addresses guessed from one client.
    let mut attempts = 1; // the successful login above
    for i in 0..LOGIN_ATTEMPTS_PER_IP_PER_MINUTE_MAX {
        let page = b.login(&format!("guess{i}@example.id"), "wrong-password").await;
        if page.status == 429 {
            break;
        }
        assert_eq!(page.status, 401);
        attempts += 1;
    }
    assert_eq!(attempts, LOGIN_ATTEMPTS_PER_IP_PER_MINUTE_MAX, "the client is limited after its attempts per minute");
    app.stop().await;
}

async fn the_stamp_journey_uploads_previews_stamps_and_the_download_verifies(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut b = logged_in(&app, "dewi@example.id", 2).await;
    let dashboard = b.get("/dashboard").await.text();
    assert_eq!(between(&dashboard, "id=\"quota-available\" class=\"big\">", "<"), "2");
    assert_eq!(between(&dashboard, "id=\"stock-level\">", "<"), "0");

    let upload_form = b.get("/stamp").await.text();
    for id in ["upload-form", "id=\"file\"", "id=\"page\"", "upload-submit", "enctype=\"multipart/form-data\""] {
        assert!(upload_form.contains(id), "{id}");
    }
    let letter = corpus(CORPUS_FILE);
    let draft = b.upload(&letter, CORPUS_FILE).await;
    let page = b.get(&format!("/stamp/{draft}")).await;
    assert_eq!(page.status, 200);
    let text = page.text();
    for id in ["id=\"preview\"", "id=\"stamp-box\"", "name=\"box_x\"", "name=\"box_y\"", "id=\"doc-type\"", "id=\"doc-number\"", "id=\"doc-date\"", "id=\"stamp-submit\"", "id=\"stamp-form\""] {
        assert!(text.contains(id), "{id} missing");
    }
    for code in ["value=\"2\"", "value=\"3\"", "value=\"4a\"", "value=\"4b\""] {
        assert!(text.contains(code), "doc type {code}");
    }
    let preview = b.get(&format!("/stamp/{draft}/preview.png")).await;
    assert_eq!(preview.status, 200, "{}", preview.text());
    assert_eq!(preview.content_type, "image/png");
    assert!(preview.bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    if let Ok(dir) = std::env::var("METERAI_TEST_ARTIFACTS") {
        // Kept for a person to look at (CI artifacts), never compared.
        std::fs::write(std::path::Path::new(&dir).join(format!("preview-{backend:?}.png")), &preview.bytes).expect("artifact");
    }
    let width = u32::from_be_bytes(preview.bytes[16..20].try_into().expect("IHDR"));
    let height = u32::from_be_bytes(preview.bytes[20..24].try_into().expect("IHDR"));
    assert!(width > 100 && height > 100 && (width as f32) * (height as f32) <= meterai_web::preview::PREVIEW_PIXELS_MAX, "{width}x{height}");

    let id = b.confirm(&draft, "300", "100").await;
    let result = b.get(&format!("/stampings/{id}")).await.text();
    assert!(result.contains("data-status=\"stamped\">berhasil"), "{result}");
    let sn = between(&result, "<span id=\"serial\">", "<").to_string();
    assert_eq!(sn.len(), 22);
    assert!(result.contains(&format!("href=\"{}/v/{sn}\"", app.url(""))), "verify link");
    assert!(result.contains(&format!("id=\"download\" href=\"/stampings/{id}/document\"")));

    let download = b.get(&format!("/stampings/{id}/document")).await;
    assert_eq!((download.status, download.content_type.as_str()), (200, "application/pdf"));
    assert!(download.bytes.starts_with(&letter) && download.bytes.len() > letter.len());
    let verified = app.client.post(app.url("/api/v1/verify")).header("content-type", "application/pdf").body(download.bytes.clone()).send().await.expect("verify");
    let report: serde_json::Value = verified.json().await.expect("json");
    let signature = report["signatures"].as_array().and_then(|s| s.last()).expect("a signature").clone();
    assert_eq!(signature["verdict"], "VALID", "{report}");
    assert_eq!(signature["serial"]["state"], "STAMPED", "{report}");
    // The public page the QR code leads to says the same to a person.
    let mut visitor = Browser::new(&app);
    let form = visitor.get("/verify").await.text();
    for id in ["id=\"verify-form\"", "id=\"verify-file\"", "id=\"verify-submit\"", "id=\"lang-switch\"", "<html lang=\"id\""] {
        assert!(form.contains(id), "{id} missing on /verify");
    }
    let checked = visitor.post_file("/verify", &download.bytes, "stamped.pdf", &[]).await.text();
    assert!(checked.contains("<div class=\"signature\" data-verdict=\"VALID\">"), "{checked}");
    assert!(checked.contains("<span class=\"serial-state\" data-state=\"STAMPED\">"), "{checked}");

    // The same confirm sent again (a double click) is the same stamping: one unit used.
    assert_eq!(b.confirm(&draft, "300", "100").await, id);
    let dashboard = b.get("/dashboard").await.text();
    assert_eq!(between(&dashboard, "id=\"quota-available\" class=\"big\">", "<"), "1");
    assert_eq!(between(&dashboard, "id=\"quota-used\">", "<"), "1");
    assert_eq!(between(&dashboard, "id=\"quota-reserved\">", "<"), "0");

    let history = b.get("/history").await.text();
    assert!(history.contains(&format!("<tr class=\"stamping\" data-id=\"{id}\">")), "{history}");
    assert!(history.contains(&format!("<td class=\"doc-name\">{CORPUS_FILE}</td>")));
    let quota = b.get("/quota").await.text();
    assert!(quota.contains("id=\"movements\""));
    assert!(quota.matches("<tr class=\"movement\"").count() >= 3, "grant, reserve, post: {quota}");
    assert!(quota.contains(&sn), "the movements name the serial");
    assert_audit_clean(&app).await;
    app.stop().await;
}

async fn a_refused_placement_fails_and_the_result_page_says_the_quota_is_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut b = logged_in(&app, "eko@example.id", 1).await;
    let draft = b.upload(&corpus(CORPUS_FILE), CORPUS_FILE).await;
    let id = b.confirm(&draft, "5000", "5000").await;
    let result = b.get(&format!("/stampings/{id}")).await.text();
    assert!(result.contains("data-status=\"failed\">gagal, kuota dikembalikan"), "{result}");
    assert!(result.contains("BOX_OUTSIDE_PAGE"), "{result}");
    let dashboard = b.get("/dashboard").await.text();
    assert_eq!(between(&dashboard, "id=\"quota-available\" class=\"big\">", "<"), "1", "the quota is already back");
    let download = b.get(&format!("/stampings/{id}/document")).await;
    assert_eq!(download.status, 404);
    assert_audit_clean(&app).await;
    app.stop().await;
}

async fn an_upload_left_as_a_draft_goes_with_its_original_after_a_day_and_a_stamped_upload_keeps_its_original(backend: Backend) {
    let clock = Arc::new(ManualClock::new(Timestamp(1_780_000_000_000)));
    let app = spawn_app_with_clock(backend, meterai_web::UPLOAD_BYTES_MAX, clock.clone()).await;
    let mut b = logged_in(&app, "dewi@example.id", 5).await;
    let letter = corpus(CORPUS_FILE);
    let mut left = letter.clone();
    left.extend_from_slice(b"\n% uploaded, never stamped\n");
    let left_draft = b.upload(&left, "left.pdf").await;
    let stamped_draft = b.upload(&letter, CORPUS_FILE).await;
    let stamped = b.confirm(&stamped_draft, "300", "100").await;
    let kept = |pdf: &[u8]| {
        let (state, sha) = (app.state.clone(), meterai_web::blobs::sha256(pdf));
        async move { state.originals.get(sha).await.expect("read").is_some() }
    };
    let purge = || meterai_web::retention::purge_expired_originals(&app.state);
    assert_eq!(purge().await.expect("purge"), 0, "a draft of today stays");
    assert!(kept(&left).await && kept(&letter).await);

    clock.advance(meterai_web::portal::stamp::DRAFT_TTL_MS + 1_000);
    assert_eq!(purge().await.expect("purge"), 1, "only the original no stamping keeps");
    assert!(!kept(&left).await, "the upload left as a draft is gone with its draft");
    assert!(kept(&letter).await, "the stamped document's original stays for its retention period");
    assert_eq!(b.login("dewi@example.id", PASSWORD).await.status, 303);
    assert_eq!(b.get(&format!("/stamp/{left_draft}")).await.status, 404);
    assert_eq!(b.get(&format!("/stamp/{stamped_draft}")).await.status, 404, "an expired draft goes even when its original stays");
    let download = b.get(&format!("/stampings/{stamped}/document")).await;
    assert_eq!(download.status, 200);
    assert!(download.bytes.starts_with(&letter));
    assert_eq!(purge().await.expect("purge"), 0, "nothing left to purge");
    assert_audit_clean(&app).await;
    app.stop().await;
}

async fn history_filters_and_pages_and_after_retention_the_original_gives_the_document_back(backend: Backend) {
    let clock = Arc::new(ManualClock::new(Timestamp(1_780_000_000_000)));
    let app = spawn_app_with_clock(backend, meterai_web::UPLOAD_BYTES_MAX, clock.clone()).await;
    let mut b = logged_in(&app, "fitri@example.id", 30).await;
    let (_, key) = app.user_with_key("fitri@example.id", 0).await;
    let letter = corpus(CORPUS_FILE);
    let draft = b.upload(&letter, CORPUS_FILE).await;
    let first = b.confirm(&draft, "300", "100").await;
    let original_download = b.get(&format!("/stampings/{first}/document")).await.bytes;
    // 20 more through the API (same owner), one of them refused, so the history has two pages.
    let per_page = meterai_web::portal::stampings::HISTORY_PAGE_ROWS as usize;
    for i in 0..=per_page {
        clock.advance(1_000);
        let mut form = common::StampForm::corpus_letter();
        form.file_name = format!("letter-{i}.pdf");
        if i == 0 {
            form.at = "nowhere".into();
        }
        let status = app.stamp(&key, &format!("k{i}"), &form).await.status().as_u16();
        assert!(status == 201 || (i == 0 && status == 400), "{i}: {status}");
    }
    let page1 = b.get("/history").await.text();
    assert_eq!(page1.matches("<tr class=\"stamping\"").count(), per_page);
    assert!(page1.contains("id=\"next-page\"") && !page1.contains("id=\"prev-page\""));
    let next = between(&page1, "id=\"next-page\" href=\"", "\"").replace("&amp;", "&");
    let page2 = b.get(&next).await.text();
    assert!(page2.contains("id=\"prev-page\"") && !page2.contains("id=\"next-page\""));
    assert!(page2.contains(&format!("data-id=\"{first}\"")), "the oldest is on page 2");
    let search = b.get("/history?status=stamped&q=LETTER-7").await.text();
    assert_eq!(search.matches("<tr class=\"stamping\"").count(), 1, "{search}");
    assert!(search.contains("letter-7.pdf"));
    let failed = b.get("/history?status=failed").await.text();
    assert_eq!(failed.matches("<tr class=\"stamping\"").count(), 0, "an API request refused before the ledger is no stamping");

    // Past the retention period: the download is gone, the original brings it back for free.
    let used_before = app.ledger.balance(app.ledger.user_by_email("fitri@example.id").await.unwrap().unwrap().quota_account).await.unwrap().unwrap().debits_posted;
    assert_eq!(meterai_web::retention::purge_expired_originals(&app.state).await.expect("purge"), 0, "within retention nothing goes");
    clock.advance(i64::from(meterai_web::DOWNLOAD_RETENTION_DAYS + 1) * 86_400_000);
    assert_eq!(b.get("/dashboard").await.status, 303, "the session expired meanwhile");
    assert_eq!(b.login("fitri@example.id", PASSWORD).await.status, 303);
    let old_draft = b.get(&format!("/stamp/{draft}")).await;
    assert_eq!(old_draft.status, 410, "a draft lasts a day");
    assert!(old_draft.text().contains("DRAFT_EXPIRED"));
    let gone = b.get(&format!("/stampings/{first}/document")).await;
    assert_eq!(gone.status, 410);
    assert!(gone.text().contains("DOCUMENT_EXPIRED"));
    let letter_sha = meterai_web::blobs::sha256(&letter);
    assert!(app.state.originals.get(letter_sha).await.expect("read").is_some(), "the original is kept until purged");
    let purged = meterai_web::retention::purge_expired_originals(&app.state).await.expect("purge");
    assert_eq!(purged, 1, "all the letters are one original");
    assert!(app.state.originals.get(letter_sha).await.expect("read").is_none(), "past the retention period the original is deleted");
    let result = b.get(&format!("/stampings/{first}")).await.text();
    assert!(result.contains("id=\"retention-over\"") && result.contains("id=\"restore-form\""), "{result}");
    let csrf = b.session_csrf().await;
    let restored = b.post_file(&format!("/stampings/{first}/document"), &letter, CORPUS_FILE, &[("csrf", &csrf)]).await;
    assert_eq!((restored.status, restored.content_type.as_str()), (200, "application/pdf"), "{}", restored.text());
    assert_eq!(restored.bytes, original_download, "the very same stamped document");
    let by_hash = b.post_file("/stampings/restore", &letter, "found-again.pdf", &[("csrf", &csrf)]).await;
    assert_eq!(by_hash.status, 200, "the history's form finds the stamping by the original's SHA-256");
    assert!(by_hash.bytes.starts_with(&letter) && by_hash.bytes.len() > letter.len());
    let unknown = b.post_file("/stampings/restore", b"%PDF-1.4 never stamped", "x.pdf", &[("csrf", &csrf)]).await;
    assert_eq!(unknown.status, 422);
    assert!(unknown.text().contains("ORIGINAL_UNKNOWN"));
    let mismatch = b.post_file(&format!("/stampings/{first}/document"), b"%PDF-1.4 another", "x.pdf", &[("csrf", &csrf)]).await;
    assert_eq!(mismatch.status, 422);
    assert!(mismatch.text().contains("ORIGINAL_MISMATCH"));
    let used_after = app.ledger.balance(app.ledger.user_by_email("fitri@example.id").await.unwrap().unwrap().quota_account).await.unwrap().unwrap().debits_posted;
    assert_eq!(used_before, used_after, "restoring costs nothing");
    assert_audit_clean(&app).await;
    app.stop().await;
}

async fn another_users_drafts_previews_stampings_documents_and_keys_are_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut alice = logged_in(&app, "alice@example.id", 2).await;
    let letter = corpus(CORPUS_FILE);
    let draft = alice.upload(&letter, CORPUS_FILE).await;
    let stamping = alice.confirm(&draft, "300", "100").await;
    let keys = alice.get("/api-keys").await;
    let created = alice.post_form("/api-keys", &[("label", "alice"), ("csrf", &keys.csrf())]).await;
    let key_id = between(&created.text(), "class=\"api-key\" data-id=\"", "\"").to_string();
    let alice_key = between(&created.text(), "<code id=\"new-api-key\">", "<").to_string();

    let mut bob = logged_in(&app, "bob@example.id", 2).await;
    let (_, bob_key) = app.user_with_key("bob@example.id", 0).await;
    for path in [
        format!("/stamp/{draft}"),
        format!("/stamp/{draft}/preview.png"),
        format!("/stampings/{stamping}"),
        format!("/stampings/{stamping}/document"),
    ] {
        let page = bob.get(&path).await;
        assert_eq!(page.status, 404, "GET {path}: {}", page.text());
    }
    let csrf = bob.session_csrf().await;
    let confirm = bob.post_form(&format!("/stamp/{draft}"), &[("csrf", &csrf), ("box_x", "300"), ("box_y", "100"), ("doc_type", "3")]).await;
    assert_eq!(confirm.status, 404, "bob cannot stamp alice's draft");
    let restore = bob.post_file(&format!("/stampings/{stamping}/document"), &letter, CORPUS_FILE, &[("csrf", &csrf)]).await;
    assert_eq!(restore.status, 404, "not even with the original");
    let by_hash = bob.post_file("/stampings/restore", &letter, CORPUS_FILE, &[("csrf", &csrf)]).await;
    assert_eq!(by_hash.status, 422, "alice's original is not one of bob's");
    let revoke = bob.post_form(&format!("/api-keys/{key_id}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!(revoke.status, 404);
    for path in [format!("/api/v1/stampings/{stamping}"), format!("/api/v1/stampings/{stamping}/document")] {
        assert_eq!(app.get_with(&bob_key, &path).await.status(), 404, "{path}");
    }
    let bobs_list: serde_json::Value = app.get_with(&bob_key, "/api/v1/stampings").await.json().await.expect("json");
    assert_eq!(bobs_list["stampings"].as_array().map(Vec::len), Some(0));
    assert!(!bob.get("/history").await.text().contains(&stamping));
    // Alice's key still works, and her stamping is hers.
    assert_eq!(app.get_with(&alice_key, &format!("/api/v1/stampings/{stamping}")).await.status(), 200);
    assert_eq!(app.quota(&bob_key).await, (2, 0, 0), "bob's quota untouched");
    app.stop().await;
}

async fn bad_uploads_get_clear_codes_and_consume_no_quota(backend: Backend) {
    let limit = 64 * 1024;
    let app = spawn_app_with(backend, limit).await;
    let mut b = logged_in(&app, "gita@example.id", 3).await;
    let csrf = b.session_csrf().await;
    let fields = [("csrf", csrf.as_str()), ("page", "1")];
    let too_large = b.post_file("/stamp", &vec![b'%'; limit + 1], "big.pdf", &fields).await;
    assert_eq!(too_large.status, 413);
    assert!(too_large.text().contains("TOO_LARGE"));
    let mut b = Browser::new(&app); // the 413 closed the connection: a fresh client
    assert_eq!(b.login("gita@example.id", PASSWORD).await.status, 303);
    let csrf = b.session_csrf().await;
    let fields = [("csrf", csrf.as_str()), ("page", "1")];
    let not_pdf = b.post_file("/stamp", b"PK\x03\x04 this is a zip", "letter.pdf", &fields).await;
    assert_eq!(not_pdf.status, 422);
    assert!(not_pdf.text().contains("NOT_PDF"), "{}", not_pdf.text());
    let broken = b.post_file("/stamp", b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\n%%EOF", "broken.pdf", &fields).await;
    assert_eq!(broken.status, 422, "{}", broken.text());
    let code = between(&broken.text(), "<code id=\"error-code\">", "<").to_string();
    assert!(!code.is_empty() && code != "INTERNAL", "{code}");
    let page_out = b.post_file("/stamp", &corpus(CORPUS_FILE), CORPUS_FILE, &[("csrf", csrf.as_str()), ("page", "999")]).await;
    assert_eq!(page_out.status, 422);
    assert!(page_out.text().contains("PAGE_OUT_OF_RANGE"));
    let dashboard = b.get("/dashboard").await.text();
    assert_eq!(between(&dashboard, "id=\"quota-available\" class=\"big\">", "<"), "3");
    assert_eq!(between(&dashboard, "id=\"quota-used\">", "<"), "0");
    let report = app.ledger.audit().await.expect("audit");
    assert!(report.is_clean(), "{:?}", report.violations);
    assert!(b.get("/history").await.text().contains("id=\"history\""));
    assert_eq!(b.get("/history").await.text().matches("class=\"stamping\"").count(), 0);
    app.stop().await;
}

async fn api_keys_are_created_once_and_revoked_on_the_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut b = logged_in(&app, "hadi@example.id", 1).await;
    let page = b.get("/api-keys").await;
    let created = b.post_form("/api-keys", &[("label", "ERP"), ("csrf", &page.csrf())]).await;
    assert_eq!(created.status, 200);
    let key = between(&created.text(), "<code id=\"new-api-key\">", "<").to_string();
    assert!(key.starts_with("mtr_"));
    assert_eq!(app.quota(&key).await, (1, 0, 0));
    let listing = b.get("/api-keys").await.text();
    assert!(!listing.contains(&key), "shown once only");
    let key_id = between(&listing, "class=\"api-key\" data-id=\"", "\"").to_string();
    let csrf = b.session_csrf().await;
    let revoked = b.post_form(&format!("/api-keys/{key_id}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!((revoked.status, revoked.location.as_deref()), (303, Some("/api-keys")));
    assert_eq!(app.get_with(&key, "/api/v1/quota").await.status(), 401, "a revoked key no longer works");
    app.stop().await;
}
