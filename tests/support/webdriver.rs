//! A small W3C WebDriver client over blocking reqwest, driving Debian's headless Chromium through
//! its `chromedriver`: just the commands the browser tests use (navigate, find by CSS, click, type,
//! read text and attributes, run a script, click at a point inside an element, read cookies, take
//! screenshots).
//!
//! [`Browser::start`] runs `/usr/bin/chromedriver` on a free port, waits (polling with a deadline)
//! until its `/status` says ready, and opens one session; dropping the [`Browser`] deletes the
//! session and kills the driver. A missing chromedriver fails the test (`.ci/run` installs it).
//! Screenshots are numbered in the order taken and kept under
//! `$CARGO_TARGET_TMPDIR/browser-artifacts/<test name>/`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The driver Debian's `chromium-driver` package installs.
pub const CHROMEDRIVER_PATH: &str = "/usr/bin/chromedriver";
/// The browser Debian's `chromium` package installs (a wrapper script around the real binary).
pub const CHROMIUM_PATH: &str = "/usr/bin/chromium";
/// How long the driver may take to answer `/status` with ready after it was started, in seconds.
pub const DRIVER_START_SECONDS_MAX: u64 = 30;
/// How long one WebDriver command may take (page loads included), in seconds.
pub const COMMAND_SECONDS_MAX: u64 = 120;
/// How long finding an element waits for it to appear (the driver's implicit wait), in ms.
pub const FIND_WAIT_MS: u64 = 15_000;
/// Browser window size in CSS pixels: wide enough for the portal's pages, tall enough that a
/// one-page preview fits in a screenshot.
pub const WINDOW_WIDTH_PX: u32 = 1280;
/// See [`WINDOW_WIDTH_PX`].
pub const WINDOW_HEIGHT_PX: u32 = 1600;
/// Interval between two polls of a condition in [`Browser::wait_until`], in ms.
pub const POLL_INTERVAL_MS: u64 = 100;

/// The W3C key under which an element reference travels.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One element of the current page, as the driver names it.
#[derive(Debug, Clone)]
pub struct Element {
    id: String,
    /// The selector it was found with, for failure messages.
    selector: String,
}

/// A browser session on its own chromedriver.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::blocking::Client,
    artifacts: PathBuf,
    screenshots_taken: u32,
}

/// The position and size of an element in CSS pixels, relative to the page.
#[derive(Debug, Clone, Copy)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// A port nobody listens on right now (bound, read and released: a tiny race with other
/// processes, which the ready check would catch).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Where the screenshots of test `name` go (created empty).
pub fn artifacts_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("browser-artifacts")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("artifacts directory");
    dir
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session; screenshots of test `test_name` go to
    /// a fresh artifacts directory, whose path is printed.
    pub fn start(test_name: &str) -> Browser {
        assert!(
            Path::new(CHROMEDRIVER_PATH).exists(),
            "{CHROMEDRIVER_PATH} is missing: install chromium and chromium-driver (.ci/run does)"
        );
        let artifacts = artifacts_dir(test_name);
        println!(
            "browser artifacts (screenshots, driver log): {}",
            artifacts.display()
        );
        let port = free_port();
        let log = std::fs::File::create(artifacts.join("chromedriver.log")).expect("driver log");
        let driver = Command::new(CHROMEDRIVER_PATH)
            .arg(format!("--port={port}"))
            .stdout(Stdio::from(log.try_clone().expect("log handle")))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER_PATH}: {e}"));
        let http = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(COMMAND_SECONDS_MAX))
            .build()
            .expect("http client");
        let mut browser = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            http,
            artifacts,
            screenshots_taken: 0,
        };
        browser.wait_for_driver();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM_PATH,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-proxy-server", "--no-first-run", "--lang=id",
                    format!("--window-size={WINDOW_WIDTH_PX},{WINDOW_HEIGHT_PX}"),
                ],
            },
        }}});
        let created = browser.command(reqwest::Method::POST, "/session", Some(capabilities));
        browser.session = created["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        browser.session_command(
            reqwest::Method::POST,
            "/timeouts",
            Some(json!({"implicit": FIND_WAIT_MS})),
        );
        browser
    }

    fn wait_for_driver(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(DRIVER_START_SECONDS_MAX);
        loop {
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!(
                    "chromedriver exited with {status}: see {}",
                    self.artifacts.join("chromedriver.log").display()
                );
            }
            let ready = self
                .http
                .get(format!("{}/status", self.base))
                .timeout(Duration::from_secs(2))
                .send()
                .ok()
                .and_then(|r| r.bytes().ok())
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .is_some_and(|v| v["value"]["ready"] == Value::Bool(true));
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver not ready after {DRIVER_START_SECONDS_MAX} s"
            );
            std::thread::sleep(Duration::from_millis(POLL_INTERVAL_MS));
        }
    }

    /// Sends one command to the driver; returns its `value`, panics with the driver's error.
    fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(b) = body {
            request = request
                .header("content-type", "application/json")
                .body(b.to_string());
        } else if method == reqwest::Method::POST {
            request = request
                .header("content-type", "application/json")
                .body("{}");
        }
        let response = request
            .send()
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = response.status();
        let bytes = response
            .bytes()
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let parsed: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "WebDriver {method} {path}: not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        let value = parsed.get("value").cloned().unwrap_or(Value::Null);
        if !status.is_success() {
            panic!(
                "WebDriver {method} {path}: {status} {} {}",
                value["error"], value["message"]
            );
        }
        value
    }

    fn session_command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.command(method, &format!("/session/{}{path}", self.session), body)
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&self, url: &str) {
        self.session_command(reqwest::Method::POST, "/url", Some(json!({"url": url})));
    }

    /// The address of the page shown.
    pub fn current_url(&self) -> String {
        self.session_command(reqwest::Method::GET, "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The page's HTML as the browser holds it now.
    pub fn page_source(&self) -> String {
        self.session_command(reqwest::Method::GET, "/source", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn element_from(value: &Value, selector: &str) -> Element {
        let id = value[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("no element reference for {selector}: {value}"));
        Element {
            id: id.to_string(),
            selector: selector.to_string(),
        }
    }

    /// The first element matching the CSS `selector`, waiting up to [`FIND_WAIT_MS`] for it;
    /// panics (with the page's address) when none appears.
    pub fn find(&self, selector: &str) -> Element {
        let url = format!("{}/session/{}/element", self.base, self.session);
        let body = json!({"using": "css selector", "value": selector});
        let response = self
            .http
            .post(&url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .expect("find element");
        let ok = response.status().is_success();
        let parsed: Value = serde_json::from_slice(&response.bytes().expect("find element"))
            .expect("find element: JSON");
        if !ok {
            panic!(
                "no element {selector} on {} ({}): {}",
                self.current_url(),
                parsed["value"]["error"],
                self.page_text_excerpt()
            );
        }
        Browser::element_from(&parsed["value"], selector)
    }

    /// Every element matching the CSS `selector` (waits like [`Browser::find`] for the first).
    pub fn find_all(&self, selector: &str) -> Vec<Element> {
        let found = self.session_command(
            reqwest::Method::POST,
            "/elements",
            Some(json!({"using": "css selector", "value": selector})),
        );
        found
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| Browser::element_from(v, selector))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first element matching `selector` inside `parent`.
    pub fn find_in(&self, parent: &Element, selector: &str) -> Element {
        let found = self.session_command(
            reqwest::Method::POST,
            &format!("/element/{}/element", parent.id),
            Some(json!({"using": "css selector", "value": selector})),
        );
        Browser::element_from(&found, &format!("{} {selector}", parent.selector))
    }

    /// The start of the page's visible text, for failure messages.
    fn page_text_excerpt(&self) -> String {
        let text = self.execute(
            "return document.body ? document.body.innerText : ''",
            vec![],
        );
        text.as_str()
            .unwrap_or_default()
            .chars()
            .take(600)
            .collect()
    }

    /// Clicks the element (scrolled into view first, by the driver).
    pub fn click(&self, element: &Element) {
        self.session_command(
            reqwest::Method::POST,
            &format!("/element/{}/click", element.id),
            None,
        );
    }

    /// Types `text` into the element; for `input[type=file]`, `text` is an absolute path.
    pub fn send_keys(&self, element: &Element, text: &str) {
        self.session_command(
            reqwest::Method::POST,
            &format!("/element/{}/value", element.id),
            Some(json!({"text": text})),
        );
    }

    /// Empties an input.
    pub fn clear(&self, element: &Element) {
        self.session_command(
            reqwest::Method::POST,
            &format!("/element/{}/clear", element.id),
            None,
        );
    }

    /// The element's rendered text.
    pub fn text(&self, element: &Element) -> String {
        self.session_command(
            reqwest::Method::GET,
            &format!("/element/{}/text", element.id),
            None,
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// An attribute of the element, if set.
    pub fn attribute(&self, element: &Element, name: &str) -> Option<String> {
        self.session_command(
            reqwest::Method::GET,
            &format!("/element/{}/attribute/{name}", element.id),
            None,
        )
        .as_str()
        .map(str::to_string)
    }

    /// A DOM property of the element (e.g. `value` of an input).
    pub fn property(&self, element: &Element, name: &str) -> Value {
        self.session_command(
            reqwest::Method::GET,
            &format!("/element/{}/property/{name}", element.id),
            None,
        )
    }

    /// Where the element is on the page.
    pub fn rect(&self, element: &Element) -> Rect {
        let r = self.session_command(
            reqwest::Method::GET,
            &format!("/element/{}/rect", element.id),
            None,
        );
        let f = |k: &str| {
            r[k].as_f64()
                .unwrap_or_else(|| panic!("rect of {} lacks {k}: {r}", element.selector))
        };
        Rect {
            x: f("x"),
            y: f("y"),
            width: f("width"),
            height: f("height"),
        }
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) in the page and returns its
    /// result. Pass elements with [`Browser::element_arg`].
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.session_command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// An element as a script argument.
    pub fn element_arg(element: &Element) -> Value {
        json!({ ELEMENT_KEY: element.id })
    }

    /// A real mouse click (move, press, release) at (`dx`, `dy`) CSS pixels from the element's
    /// top-left corner; the element must be in view (the driver scrolls it there when found by
    /// [`Browser::scroll_into_view`]).
    pub fn click_at(&self, element: &Element, dx: f64, dy: f64) {
        let rect = self.rect(element);
        // W3C pointer origins are the element's centre; integers only.
        let x = (dx - rect.width / 2.0).round() as i64;
        let y = (dy - rect.height / 2.0).round() as i64;
        let actions = json!({"actions": [{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [
                {"type": "pointerMove", "duration": 0, "origin": Browser::element_arg(element), "x": x, "y": y},
                {"type": "pointerDown", "button": 0},
                {"type": "pointerUp", "button": 0},
            ],
        }]});
        self.session_command(reqwest::Method::POST, "/actions", Some(actions));
        self.session_command(reqwest::Method::DELETE, "/actions", None);
    }

    /// Drags the element by (`dx`, `dy`) CSS pixels with the mouse: press on its centre, move in
    /// steps, release.
    pub fn drag_by(&self, element: &Element, dx: f64, dy: f64) {
        let steps = 5;
        let mut moves = vec![
            json!({"type": "pointerMove", "duration": 0, "origin": Browser::element_arg(element), "x": 0, "y": 0}),
            json!({"type": "pointerDown", "button": 0}),
        ];
        for _ in 0..steps {
            let (x, y) = (
                (dx / f64::from(steps)).round() as i64,
                (dy / f64::from(steps)).round() as i64,
            );
            moves.push(
                json!({"type": "pointerMove", "duration": 50, "origin": "pointer", "x": x, "y": y}),
            );
        }
        moves.push(json!({"type": "pointerUp", "button": 0}));
        let actions = json!({"actions": [{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": moves,
        }]});
        self.session_command(reqwest::Method::POST, "/actions", Some(actions));
        self.session_command(reqwest::Method::DELETE, "/actions", None);
    }

    /// Scrolls so that the element is fully visible.
    pub fn scroll_into_view(&self, element: &Element) {
        self.execute(
            "arguments[0].scrollIntoView({block: 'center', inline: 'center'})",
            vec![Browser::element_arg(element)],
        );
    }

    /// The session's cookies as (name, value).
    pub fn cookies(&self) -> Vec<(String, String)> {
        let all = self.session_command(reqwest::Method::GET, "/cookie", None);
        all.as_array()
            .map(|a| {
                a.iter()
                    .map(|c| {
                        (
                            c["name"].as_str().unwrap_or_default().to_string(),
                            c["value"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The cookies as one `Cookie:` request header value, for fetching through the session.
    pub fn cookie_header(&self) -> String {
        self.cookies()
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Saves a PNG of the viewport as `NN-step.png` in the artifacts directory and returns its
    /// path.
    pub fn screenshot(&mut self, step: &str) -> PathBuf {
        let encoded = self.session_command(reqwest::Method::GET, "/screenshot", None);
        let png = base64_decode(encoded.as_str().expect("screenshot data"));
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
        self.screenshots_taken += 1;
        let path = self
            .artifacts
            .join(format!("{:02}-{step}.png", self.screenshots_taken));
        std::fs::write(&path, png).expect("writing the screenshot");
        path
    }

    /// The artifacts directory of this test.
    pub fn artifacts(&self) -> &Path {
        &self.artifacts
    }

    /// Polls `condition` every [`POLL_INTERVAL_MS`] until it holds or `seconds` pass; panics with
    /// `what` and the page's address on timeout.
    pub fn wait_until(
        &self,
        what: &str,
        seconds: u64,
        mut condition: impl FnMut(&Browser) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        while !condition(self) {
            assert!(
                Instant::now() < deadline,
                "waited {seconds} s for {what} on {}: {}",
                self.current_url(),
                self.page_text_excerpt()
            );
            std::thread::sleep(Duration::from_millis(POLL_INTERVAL_MS));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends Chromium cleanly first: a killed driver can leave the browser behind. Best effort,
        // never a panic in a destructor (the tests are synchronous, so a blocking call is fine).
        if !self.session.is_empty() {
            let _ = self
                .http
                .delete(format!("{}/session/{}", self.base, self.session))
                .timeout(Duration::from_secs(DRIVER_START_SECONDS_MAX))
                .send();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Decodes standard base64 (the encoding of WebDriver screenshots); panics on bad input.
pub fn base64_decode(text: &str) -> Vec<u8> {
    fn sextet(c: u8) -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {:?}", c as char),
        }
    }
    let clean: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    for chunk in clean.chunks(4) {
        let data: Vec<u8> = chunk.iter().copied().filter(|&c| c != b'=').collect();
        let mut n = 0u32;
        for &c in &data {
            n = (n << 6) | sextet(c);
        }
        n <<= 6 * (4 - data.len() as u32);
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..data.len()]);
    }
    out
}
