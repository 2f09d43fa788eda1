//! The test harness: a real server on a socket over a fresh SQLite file, with a clock the test
//! moves.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

use std::sync::Arc;

use latchkey_core::{Clock, ManualClock, Secret, SecretFormat, Timestamp};
use latchkey_server::{App, Settings, bootstrap};
use latchkey_store::SqliteStore;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

pub struct TestServer {
    pub base: String,
    pub root: String,
    pub clock: ManualClock,
    pub http: reqwest::Client,
    pub app: latchkey_server::AppState,
    _dir: TempDir,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// Asserts the status and hands back the body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        self.body
    }

    /// The `message` of a native error, or the `error` of a Turso one.
    pub fn message(&self) -> &str {
        self.body["message"]
            .as_str()
            .or_else(|| self.body["error"].as_str())
            .unwrap_or_default()
    }

    /// Asserts a Turso error: this status and `{"error": "<message>"}`, nothing else. Hands
    /// back the message.
    #[track_caller]
    pub fn turso_error(self, status: u16) -> String {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        let only_error = self.body.as_object().is_some_and(|o| o.len() == 1);
        match self.body["error"].as_str() {
            Some(message) if only_error && !message.is_empty() => message.to_owned(),
            _ => panic!("not Turso's error shape: {self:?}"),
        }
    }

    /// Asserts a MotherDuck error: this status, the code the reference gives it, a message, and
    /// `issues` as `[{"message"}]`, nothing else. Hands back the issues' messages.
    #[track_caller]
    pub fn motherduck_error(self, status: u16) -> Vec<String> {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        let body = &self.body;
        assert_eq!(keys(body), ["code", "issues", "message"], "{self:?}");
        assert_eq!(body["code"], motherduck_code(status), "{self:?}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{self:?}");
        let issues = body["issues"].as_array().expect("issues");
        issues
            .iter()
            .map(|issue| {
                assert_eq!(keys(issue), ["message"], "{self:?}");
                issue["message"]
                    .as_str()
                    .expect("an issue's message")
                    .to_owned()
            })
            .collect()
    }
}

/// An object's keys, sorted; none for anything else.
pub fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    keys
}

/// MotherDuck's error code for a status.
pub fn motherduck_code(status: u16) -> &'static str {
    match status {
        400 => "BAD_REQUEST",
        401 => "UNAUTHORIZED",
        403 => "FORBIDDEN",
        404 => "NOT_FOUND",
        409 => "CONFLICT",
        500 => "INTERNAL_SERVER_ERROR",
        _ => panic!("MotherDuck gives no code for {status}"),
    }
}

impl TestServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store =
            Arc::new(SqliteStore::open(dir.path().join("latchkey.db")).expect("open store"));
        let clock = ManualClock::starting_now();
        let format = SecretFormat::default();
        let root = bootstrap(store.as_ref(), &clock, &format, None, None)
            .await
            .expect("bootstrap")
            .expect("a fresh store has no root yet");
        let app = App::new(store, Arc::new(clock.clone()), Settings::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let router = app.router.clone();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            base,
            root: root.expose().to_owned(),
            clock,
            http: reqwest::Client::new(),
            app: app.state,
            _dir: dir,
        }
    }

    /// Sends a request with an optional bearer and JSON body, and reads the answer. No answer
    /// may ever be a 500.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request, &format!("{method} {path}")).await
    }

    /// Sends a request built by hand (raw bodies, odd headers).
    pub async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> Reply {
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        assert_ne!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{what} answered 500: {text}"
        );
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply { status, body }
    }

    /// A request to `path`, for tests that build it by hand.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    pub async fn get(&self, path: &str, bearer: &str) -> Reply {
        self.call(Method::GET, path, Some(bearer), None).await
    }

    pub async fn post(&self, path: &str, bearer: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(bearer), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, bearer: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(bearer), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, bearer: &str) -> Reply {
        self.call(Method::DELETE, path, Some(bearer), None).await
    }

    /// The status `GET path` answers.
    pub async fn get_status(&self, path: &str, bearer: &str) -> u16 {
        self.get(path, bearer).await.status.as_u16()
    }

    /// The status the bearer gets for `GET /v1/tokens/self`: 200 while it works, 401 after.
    pub async fn self_status(&self, secret: &str) -> u16 {
        self.get_status("/v1/tokens/self", secret).await
    }

    /// `GET /v1/tokens/{id}`, expecting 200.
    pub async fn token(&self, bearer: &str, id: &str) -> Value {
        self.get(&format!("/v1/tokens/{id}"), bearer)
            .await
            .expect(200)
    }

    /// `DELETE /v1/tokens/{id}`, expecting 204.
    pub async fn revoke(&self, bearer: &str, id: &str) {
        self.delete(&format!("/v1/tokens/{id}"), bearer)
            .await
            .expect(204);
    }

    /// `POST /v1/tokens/{id}/rotate`, with no body.
    pub async fn rotate(&self, bearer: &str, id: &str) -> Reply {
        let path = format!("/v1/tokens/{id}/rotate");
        self.call(Method::POST, &path, Some(bearer), None).await
    }

    /// The server's present, as its clock has it.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// An ISO 8601 datetime `seconds` from the server's present.
    pub fn in_seconds(&self, seconds: i64) -> String {
        self.now().plus_seconds(seconds).rfc3339()
    }

    /// Writes the pending `last_used_at` stamps now, instead of waiting for the flusher.
    pub async fn flush_stamps(&self) {
        self.app
            .service
            .verifier()
            .flush_stamps()
            .await
            .expect("flush stamps");
    }

    /// Creates a human account (root) and returns a full-rights token for it: account-wide,
    /// unscoped, minted by root.
    pub async fn account(&self, username: &str) -> String {
        self.account_of_kind(username, "human").await
    }

    pub async fn account_of_kind(&self, username: &str, kind: &str) -> String {
        let reply = self
            .post("/v1/accounts", &self.root, json!({"username": username, "email": format!("{username}@example.com"), "kind": kind}))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        let body =
            json!({"name": "account", "scopes": ["*"], "owner": username, "account_wide": true});
        self.mint(&self.root, body).await.0
    }

    pub async fn principal(&self, secret: &str) -> latchkey_core::Principal {
        self.app
            .service
            .authenticate(Some(secret))
            .await
            .expect("authenticate")
    }

    /// Mints through the native API and returns (secret, id).
    pub async fn mint(&self, bearer: &str, body: Value) -> (String, String) {
        let reply = self.post("/v1/tokens", bearer, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        (
            reply.body["token"].as_str().expect("secret").to_owned(),
            reply.body["id"].as_str().expect("id").to_owned(),
        )
    }

    /// Mints a token named `name` with every right of its owner, in the bearer's organization.
    pub async fn mint_named(&self, bearer: &str, name: &str) -> (String, String) {
        self.mint(bearer, json!({"name": name, "scopes": ["*"]}))
            .await
    }

    /// Root mints a token for `owner`: `body` gives the rest (name, scopes, organization…).
    pub async fn mint_for(&self, owner: &str, mut body: Value) -> (String, String) {
        body["owner"] = json!(owner);
        self.mint(&self.root, body).await
    }

    /// Creates a team organization owned by the holder of `owner_token`.
    pub async fn organization(&self, owner_token: &str, slug: &str) {
        let reply = self
            .post("/v1/organizations", owner_token, json!({"slug": slug}))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    }

    pub async fn add_member(&self, admin_token: &str, org: &str, username: &str, role: &str) {
        let reply = self
            .post(
                &format!("/v1/organizations/{org}/members"),
                admin_token,
                json!({"username": username, "role": role}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    }

    /// Creates accounts for `owner` and each of `members`, an organization `slug` owned by
    /// `owner` with the others in it at their roles, and returns each one's account-wide token
    /// in the order given (owner first).
    pub async fn team(&self, slug: &str, owner: &str, members: &[(&str, &str)]) -> Vec<String> {
        let owner_token = self.account(owner).await;
        self.organization(&owner_token, slug).await;
        let mut tokens = vec![owner_token];
        for (username, role) in members {
            tokens.push(self.account(username).await);
            self.add_member(&self.root, slug, username, role).await;
        }
        tokens
    }

    pub async fn create_group(&self, bearer: &str, org: &str, name: &str) -> Value {
        self.post(
            &format!("/v1/organizations/{org}/groups"),
            bearer,
            json!({"name": name}),
        )
        .await
        .expect(200)
    }

    /// `POST /v1/tokens/verify` with no bearer.
    pub async fn verify_with(&self, body: Value) -> Value {
        self.call(Method::POST, "/v1/tokens/verify", None, Some(body))
            .await
            .expect(200)
    }

    pub async fn verify(&self, secret: &str) -> Value {
        self.verify_with(json!({"token": secret})).await
    }

    /// The verification code of a secret: `VALID`, `REVOKED`, `NOT_FOUND`…
    pub async fn verify_code(&self, secret: &str) -> String {
        let body = self.verify(secret).await;
        body["code"].as_str().expect("code").to_owned()
    }

    /// Turso's mint, `POST /v1/auth/api-tokens/{name}`, with an optional body.
    pub async fn turso_mint(&self, bearer: &str, name: &str, body: Option<Value>) -> Reply {
        let path = format!("/v1/auth/api-tokens/{name}");
        self.call(Method::POST, &path, Some(bearer), body).await
    }

    /// Turso's mint, expecting 200: (secret, id in Turso's spelling).
    pub async fn turso_minted(
        &self,
        bearer: &str,
        name: &str,
        body: Option<Value>,
    ) -> (String, String) {
        let minted = self.turso_mint(bearer, name, body).await.expect(200);
        assert_eq!(minted["name"], name, "{minted}");
        (
            minted["token"].as_str().expect("secret").to_owned(),
            minted["id"].as_str().expect("id").to_owned(),
        )
    }

    /// MotherDuck's mint, `POST /v1/users/{username}/tokens`.
    pub async fn motherduck_mint(&self, bearer: &str, username: &str, body: Value) -> Reply {
        self.post(&format!("/v1/users/{username}/tokens"), bearer, body)
            .await
    }

    /// MotherDuck's mint, expecting 200: the token object with its secret in `token`.
    pub async fn motherduck_minted(&self, bearer: &str, username: &str, body: Value) -> Value {
        self.motherduck_mint(bearer, username, body)
            .await
            .expect(200)
    }

    /// The OpenAPI document, as served.
    pub async fn openapi(&self) -> Value {
        self.call(Method::GET, "/openapi.json", None, None)
            .await
            .expect(200)
    }
}

/// Every (method, path) the OpenAPI document describes, methods in upper case.
pub fn operations(openapi: &Value) -> Vec<(String, String)> {
    let paths = openapi["paths"].as_object().expect("paths");
    let mut out = Vec::new();
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                out.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// Fails with every failure listed, when there are any: table-driven tests report all their
/// broken rows at once.
#[track_caller]
pub fn assert_no_failures(mut failures: Vec<String>) {
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

pub fn random_secret() -> String {
    Secret::generate(&SecretFormat::default())
        .expose()
        .to_owned()
}
