//! A minimal browser over reqwest: keeps cookies by hand (so tests can read their attributes),
//! never follows redirects (so tests see each 303), and reads the CSRF token out of pages.

use std::collections::BTreeMap;

use super::TestApp;

/// One browser session against a [`TestApp`].
pub struct Browser {
    base: String,
    client: reqwest::Client,
    /// Cookies by name (value only).
    pub cookies: BTreeMap<String, String>,
    /// Every Set-Cookie header seen, in order.
    pub set_cookies: Vec<String>,
}

/// A response read whole.
#[derive(Debug)]
pub struct Page {
    /// Status code.
    pub status: u16,
    /// Location header, if any.
    pub location: Option<String>,
    /// Content-Type header.
    pub content_type: String,
    /// Body bytes.
    pub bytes: Vec<u8>,
}

impl Page {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The value of the first `name="csrf" value="..."` in the page.
    pub fn csrf(&self) -> String {
        let text = self.text();
        let marker = "name=\"csrf\" value=\"";
        let start = text
            .find(marker)
            .unwrap_or_else(|| panic!("no CSRF field in {text}"))
            + marker.len();
        text[start..].split('"').next().unwrap_or("").to_string()
    }
}

impl Browser {
    /// A browser with no cookies.
    pub fn new(app: &TestApp) -> Browser {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Browser {
            base: app.url(""),
            client,
            cookies: BTreeMap::new(),
            set_cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&mut self, response: reqwest::Response) -> Page {
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().expect("ascii cookie").to_string();
            let pair = text.split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() || text.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
            self.set_cookies.push(text);
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().expect("location").to_string());
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or("").to_string())
            .unwrap_or_default();
        let bytes = response.bytes().await.expect("body").to_vec();
        Page {
            status,
            location,
            content_type,
            bytes,
        }
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Page {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("GET");
        self.read(response).await
    }

    /// `POST path` with an urlencoded form.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(fields)
            .send()
            .await
            .expect("POST form");
        self.read(response).await
    }

    /// `POST path` with a multipart form: `file` (named `file_name`) and text fields.
    pub async fn post_file(
        &mut self,
        path: &str,
        file: &[u8],
        file_name: &str,
        fields: &[(&str, &str)],
    ) -> Page {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        let part = reqwest::multipart::Part::bytes(file.to_vec())
            .file_name(file_name.to_string())
            .mime_str("application/pdf")
            .expect("mime");
        form = form.part("file", part);
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .multipart(form)
            .send()
            .await
            .expect("POST file");
        self.read(response).await
    }

    /// Registers `email` with `password` through the form; asserts it logged in.
    pub async fn register(&mut self, email: &str, password: &str) {
        let form = self.get("/register").await;
        let csrf = form.csrf();
        let done = self
            .post_form(
                "/register",
                &[("email", email), ("password", password), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.text());
        assert_eq!(done.location.as_deref(), Some("/dashboard"));
    }

    /// Logs in through the form; returns the answer.
    pub async fn login(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        let csrf = form.csrf();
        self.post_form(
            "/login",
            &[("email", email), ("password", password), ("csrf", &csrf)],
        )
        .await
    }

    /// The session's CSRF token (read from the dashboard's logout form).
    pub async fn session_csrf(&mut self) -> String {
        let page = self.get("/dashboard").await;
        assert_eq!(page.status, 200, "not logged in: {}", page.text());
        page.csrf()
    }

    /// Uploads `file` on the stamp page; returns the draft id.
    pub async fn upload(&mut self, file: &[u8], file_name: &str) -> String {
        let csrf = self.session_csrf().await;
        let page = self
            .post_file("/stamp", file, file_name, &[("csrf", &csrf), ("page", "1")])
            .await;
        assert_eq!(page.status, 303, "{}", page.text());
        page.location
            .expect("location")
            .trim_start_matches("/stamp/")
            .to_string()
    }

    /// Confirms a draft with the box's lower-left corner at (x, y); returns the stamping id.
    pub async fn confirm(&mut self, draft: &str, x: &str, y: &str) -> String {
        let csrf = self.session_csrf().await;
        let fields = [
            ("csrf", csrf.as_str()),
            ("box_x", x),
            ("box_y", y),
            ("doc_type", "3"),
            ("doc_number", "SP-7/2026"),
            ("doc_date", "2026-12-01"),
        ];
        let page = self.post_form(&format!("/stamp/{draft}"), &fields).await;
        assert_eq!(page.status, 303, "{}", page.text());
        page.location
            .expect("location")
            .trim_start_matches("/stampings/")
            .to_string()
    }
}
