//! A PostgreSQL database of one test's own, for every test that needs PostgreSQL: the store's
//! (`tests/postgres.rs`) and the binary's (which include this file by its path).
//!
//! The server is the one `LATCHKEY_TEST_POSTGRES_URL` names (by default
//! `postgres://postgres@127.0.0.1:5432/postgres`): its database is where the tests create and drop
//! theirs, `latchkey_test_<uuid>`. Without a server, a test passes after one line saying it was
//! skipped; in CI (`CI=true`) it fails instead.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

use std::io::Write as _;
use std::sync::Once;
use std::time::Duration;

use latchkey_store::PostgresStore;
use latchkey_store::postgres::{DEFAULT_CONNECTIONS, redacted};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const PREFIX: &str = "latchkey_test_";
/// A test database older than this is a leftover of a run that was killed.
const STALE_AFTER: Duration = Duration::from_secs(3_600);

fn server_url() -> String {
    std::env::var("LATCHKEY_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "0" | "false"))
}

/// `url` with its database replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority = base.find("://").map_or(0, |at| at + 3);
    let base = match base[authority..].find('/') {
        Some(slash) => &base[..authority + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// A database of one test's own, dropped (with whatever is still connected to it) when this is.
pub struct TestDatabase {
    server: String,
    name: String,
    /// Where the database is, password included.
    pub url: String,
}

impl TestDatabase {
    /// A fresh database; `None` (after saying so, once) when there is no server outside CI.
    pub async fn create() -> Option<Self> {
        let server = server_url();
        let connected =
            tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&server)).await;
        let mut conn = match connected {
            Ok(Ok(conn)) => conn,
            Ok(Err(error)) => return unreachable(&server, &error.to_string()),
            Err(_) => return unreachable(&server, "no answer within 5 s"),
        };
        drop_stale(&mut conn).await;
        let name = format!("{PREFIX}{}", Uuid::now_v7().simple());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .expect("create the test database");
        let _ = conn.close().await;
        Some(Self {
            url: with_database(&server, &name),
            server,
            name,
        })
    }

    /// Lets new connections into the database, or not (those open stay open).
    pub async fn allow_connections(&self, allow: bool) {
        let mut conn = PgConnection::connect(&self.server)
            .await
            .expect("connect to the server");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE \"{}\" ALLOW_CONNECTIONS {allow}",
            self.name
        )))
        .execute(&mut conn)
        .await
        .expect("change the database's connection rights");
        let _ = conn.close().await;
    }

    pub async fn store(&self) -> PostgresStore {
        PostgresStore::connect(&self.url, DEFAULT_CONNECTIONS)
            .await
            .expect("connect to the test database")
    }
}

fn unreachable<T>(server: &str, error: &str) -> Option<T> {
    let server = redacted(server);
    if in_ci() {
        panic!(
            "PostgreSQL is required in CI (CI=true), but {server} cannot be reached: {error}. \
             Start it, or point LATCHKEY_TEST_POSTGRES_URL at one."
        );
    }
    static NOTICE: Once = Once::new();
    NOTICE.call_once(|| {
        // Straight to stderr, past the test harness's capture, so that it is seen.
        let _ = writeln!(
            std::io::stderr(),
            "skipping the tests that need PostgreSQL: {server} cannot be reached ({error}); \
             set LATCHKEY_TEST_POSTGRES_URL or start PostgreSQL to run them"
        );
    });
    None
}

/// Drops test databases left by runs that were killed before they could drop their own. Their
/// names carry a UUIDv7, and so the time they were made.
async fn drop_stale(conn: &mut PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
            .bind(PREFIX)
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch");
    for name in names {
        let Some(made) = Uuid::try_parse(&name[PREFIX.len()..])
            .ok()
            .and_then(|id| id.get_timestamp())
        else {
            continue;
        };
        let made = Duration::from_secs(made.to_unix().0);
        if now.saturating_sub(made) > STALE_AFTER {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
            )))
            .execute(&mut *conn)
            .await;
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot block on a future: do it on a
        // thread of its own, and wait for it so that nothing is left when the run ends.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&server)
                    .await
                    .map_err(|error| error.to_string())?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await
                .map_err(|error| error.to_string())?;
                let _ = conn.close().await;
                Ok::<_, String>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {dropped:?}", self.name);
        }
    }
}
