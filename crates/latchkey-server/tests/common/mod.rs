//! The test harness: a real server on a socket over a fresh SQLite file, with a clock the test
//! moves.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

use std::sync::Arc;

use latchkey_core::{ManualClock, Secret, SecretFormat};
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

impl TestServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store =
            Arc::new(SqliteStore::open(dir.path().join("latchkey.db")).expect("open store"));
        let clock = ManualClock::starting_now();
        let format = SecretFormat::default();
        let root = bootstrap(store.as_ref(), &clock, &format, None)
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

    /// Sends a request with an optional bearer and JSON body, and reads the answer.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply { status, body }
    }

    pub async fn get(&self, path: &str, bearer: &str) -> Reply {
        self.call(Method::GET, path, Some(bearer), None).await
    }

    pub async fn post(&self, path: &str, bearer: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(bearer), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, bearer: &str) -> Reply {
        self.call(Method::DELETE, path, Some(bearer), None).await
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

    pub async fn verify(&self, secret: &str) -> Value {
        let reply = self
            .call(
                Method::POST,
                "/v1/tokens/verify",
                None,
                Some(json!({"token": secret})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        reply.body
    }
}

pub fn random_secret() -> String {
    Secret::generate(&SecretFormat::default())
        .expose()
        .to_owned()
}
