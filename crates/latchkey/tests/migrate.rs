//! `latchkey migrate-store` from a SQLite store, filled through the real server and CLI, to
//! PostgreSQL: every secret verifies on a node over the copy as it did before, the tables hold
//! as many rows, and a second copy into the now full database is refused.
//!
//! Needs PostgreSQL (see `test_database`): skipped without it, failed in CI. The same move of
//! 100 000 tokens is timed by the ignored test:
//! `cargo test -p latchkey --release --test migrate -- --ignored --nocapture`.

mod common;
#[path = "../../latchkey-store/tests/test_database/mod.rs"]
mod test_database;

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{Run, Server, command};
use latchkey_core::{
    Reach, ScopeCatalog, Secret, SecretFormat, Timestamp, Token, TokenId, TokenType,
};
use latchkey_store::{SqliteStore, Store};
use serde_json::Value;
use sqlx::{Connection, PgConnection};
use test_database::TestDatabase;

fn migrate(from: &str, to: &str) -> Run {
    Run::from(
        command()
            .args(["migrate-store", "--from", from, "--to", to])
            .output()
            .expect("run latchkey migrate-store"),
    )
}

/// What a node says of a secret: its code, and the token's id, name and scopes.
fn verdict(server: &Server, secret: &str) -> (String, Value, Value, Value) {
    let run = server.cli(&["tokens", "verify", secret, "--json"]);
    let body: Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    let token = &body["token"];
    (
        body["code"].as_str().expect("a code").to_owned(),
        token["id"].clone(),
        token["name"].clone(),
        token["scopes"].clone(),
    )
}

/// Every token, as the node lists them; the root token's last use left out, since listing
/// is one.
fn listing(server: &Server) -> Value {
    let mut listed = server.cli(&["tokens", "list", "--json"]).json();
    for token in listed["data"].as_array_mut().expect("a list of tokens") {
        if token["name"] == "root" {
            token["last_used_at"] = Value::Null;
        }
    }
    listed
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

#[tokio::test]
async fn a_sqlite_store_moves_to_postgresql_and_every_secret_still_verifies() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("latchkey.db");
    let from = sqlite_url(&file);
    let old = Server::start_with(&["--database-url", &from]);
    for args in [
        &[
            "accounts",
            "create",
            "alice",
            "--email",
            "alice@example.com",
        ][..],
        &["accounts", "create", "bob", "--email", "bob@example.com"],
        &["orgs", "create", "acme"],
        &["members", "add", "acme", "alice", "--role", "admin"],
        &["members", "add", "acme", "bob", "--role", "member"],
        &["groups", "create", "acme", "eu"],
        &["groups", "create", "acme", "us"],
    ] {
        old.cli(args).ok();
    }
    let mut secrets: Vec<(String, String)> = [
        &[
            "ci-deploy",
            "--organization",
            "acme",
            "--owner",
            "alice",
            "--scope",
            "tokens:read",
        ][..],
        &["reader", "--read-only", "--expires-in", "30d"],
        &[
            "eu-only",
            "--organization",
            "acme",
            "--group",
            "eu",
            "--read-only",
        ],
        &[
            "us-only",
            "--organization",
            "acme",
            "--group",
            "us",
            "--read-only",
        ],
        &[
            "bobs",
            "--organization",
            "acme",
            "--owner",
            "bob",
            "--all-rights",
        ],
        &["replica", "--full-access", "--token-type", "read_scaling"],
        &["revoked", "--all-rights"],
    ]
    .iter()
    .map(|args| old.mint(args))
    .collect();
    old.cli(&["tokens", "revoke", &secrets[6].1, "--yes"]).ok();
    old.cli(&["groups", "delete", "acme", "us", "--yes"]).ok();
    old.cli(&["members", "remove", "acme", "bob", "--yes"]).ok();
    secrets.push((old.root.clone(), String::new()));

    let before: Vec<_> = secrets.iter().map(|(s, _)| verdict(&old, s)).collect();
    let codes: Vec<&str> = before.iter().map(|v| v.0.as_str()).collect();
    assert_eq!(
        codes,
        [
            "VALID", "VALID", "VALID", "REVOKED", "REVOKED", "VALID", "REVOKED", "VALID"
        ]
    );
    // Uses are stamped within a second; wait until every valid token shows one.
    let start = Instant::now();
    let listed = loop {
        let listed = listing(&old);
        let tokens = listed["data"].as_array().expect("a list of tokens");
        let unstamped = tokens
            .iter()
            .filter(|t| {
                t["status"] == "active" && t["name"] != "root" && t["last_used_at"].is_null()
            })
            .count();
        if unstamped == 0 {
            break listed;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{listed}");
        sleep(Duration::from_millis(100));
    };
    let root = old.root.clone();
    drop(old);

    let to = database.url.clone();
    let copied = migrate(&from, &to).ok();
    assert!(copied.contains("every table's count matches"), "{copied}");
    let source = SqliteStore::open(&file).expect("open the SQLite store");
    assert_eq!(
        database.store().await.counts().await.unwrap(),
        source.counts().await.unwrap()
    );
    // The target was vacuumed and analyzed, its tokens' table among the rest.
    let mut admin = PgConnection::connect(&database.url)
        .await
        .expect("connect to the test database");
    let readied: bool = sqlx::query_scalar(
        "SELECT last_vacuum IS NOT NULL AND last_analyze IS NOT NULL
         FROM pg_stat_user_tables WHERE relname = 'tokens'",
    )
    .fetch_one(&mut admin)
    .await
    .expect("the tokens' table's statistics");
    assert!(
        readied,
        "migrate-store leaves the target vacuumed and analyzed"
    );
    let _ = admin.close().await;

    let mut new = Server::start_with(&["--database-url", &to]);
    assert!(
        new.root.is_empty(),
        "the root came along, no new one is made"
    );
    new.root = root;
    assert_eq!(
        listing(&new),
        listed,
        "every token as it was, stamps included"
    );
    let after: Vec<_> = secrets.iter().map(|(s, _)| verdict(&new, s)).collect();
    assert_eq!(after, before);

    migrate(&from, &to).fails(1, "is not empty");
}

/// A SQLite store of `count` tokens of root's, two scopes each, written straight through the store (a server
/// would take minutes to mint them one by one); gives their secrets.
async fn seed(file: &Path, count: usize) -> Vec<Secret> {
    let store = SqliteStore::open(file).expect("create the store");
    let format = SecretFormat::default();
    let clock = latchkey_core::SystemClock;
    let root = Secret::generate(&format);
    latchkey_server::bootstrap(&store, &clock, &format, Some(root.clone()), None)
        .await
        .expect("bootstrap");
    let account = store.root_account().await.unwrap().expect("a root");
    let personal = store.organizations_of(account.id).await.unwrap()[0].0.id;
    let mut secrets = vec![root];
    let mut first = Token {
        id: TokenId::new(),
        owner: account.id,
        created_by: account.id,
        org: personal,
        reach: Reach::Organization,
        name: "seed".parse().unwrap(),
        scopes: ScopeCatalog::default()
            .parse(&["tokens:read", "read"])
            .unwrap(),
        token_type: TokenType::ReadWrite,
        hint: String::new(),
        created_at: Timestamp::from_unix(1_900_000_000),
        expires_at: None,
        last_used_at: Some(Timestamp::from_unix(1_900_000_100)),
        revoked_at: None,
    };
    for n in 0..count {
        let secret = Secret::generate(&format);
        first.id = TokenId::new();
        first.name = format!("seed-{n}").parse().unwrap();
        first.hint = secret.hint();
        store.insert_token(&first, secret.hash()).await.unwrap();
        secrets.push(secret);
    }
    secrets
}

/// Moves a store of `LATCHKEY_MIGRATE_TOKENS` tokens (100 000 by default), timing the copy, and
/// checks that every secret still verifies on a node over the copy.
#[tokio::test]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn a_hundred_thousand_tokens_move_and_every_secret_still_verifies() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let count: usize = std::env::var("LATCHKEY_MIGRATE_TOKENS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("latchkey.db");
    let seeded = Instant::now();
    let secrets = seed(&file, count).await;
    println!("seeded {count} tokens in {:?}", seeded.elapsed());

    let started = Instant::now();
    let run = migrate(&sqlite_url(&file), &database.url);
    let took = started.elapsed();
    print!("{}", run.stderr);
    run.ok();
    println!("migrate-store moved {count} tokens in {took:?}");

    let mut node = Server::start_with(&["--database-url", &database.url, "--rate-limit", "0"]);
    node.root = secrets[0].expose().to_owned();
    let http = reqwest::Client::new();
    let verify = format!("{}/v1/tokens/verify", node.url);
    let checked = Instant::now();
    let mut asks = tokio::task::JoinSet::new();
    for chunk in secrets.chunks(secrets.len().div_ceil(16)) {
        let (http, verify) = (http.clone(), verify.clone());
        let chunk: Vec<String> = chunk.iter().map(|s| s.expose().to_owned()).collect();
        asks.spawn(async move {
            for secret in chunk {
                let body: Value = http
                    .post(&verify)
                    .json(&serde_json::json!({ "token": secret }))
                    .send()
                    .await
                    .expect("verify")
                    .json()
                    .await
                    .expect("a JSON body");
                assert_eq!(body["code"], "VALID", "{body}");
            }
        });
    }
    while let Some(done) = asks.join_next().await {
        done.expect("every secret verifies");
    }
    println!(
        "all {} secrets verified VALID on a PostgreSQL node in {:?}",
        secrets.len(),
        checked.elapsed()
    );
}
