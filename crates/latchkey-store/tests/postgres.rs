//! The conformance suite on the PostgreSQL store, each test in a database of its own, and the
//! invalidations every node hears.
//!
//! The server is the one `LATCHKEY_TEST_POSTGRES_URL` names (by default
//! `postgres://postgres@127.0.0.1:5432/postgres`): its database is where the tests create and drop
//! theirs, `latchkey_test_<uuid>`. Without a server, the tests pass after one line saying they
//! were skipped; in CI (`CI=true`) they fail instead.

mod conformance;

use std::io::Write as _;
use std::sync::Once;
use std::time::Duration;

use conformance::Harness;
use conformance::support::{join, mint, new_group, now_plus, org, person};
use latchkey_core::{Role, Secret, SecretFormat};
use latchkey_store::postgres::LISTENER_APPLICATION_NAME;
use latchkey_store::{Invalidation, PostgresStore, Store};
use sqlx::{Connection, PgConnection};
use tokio::sync::mpsc;
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
fn with_database(url: &str, database: &str) -> String {
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
struct TestDatabase {
    server: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// A fresh database; `None` (after saying so, once) when there is no server outside CI.
    async fn create() -> Option<Self> {
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

    async fn store(&self) -> PostgresStore {
        PostgresStore::connect(&self.url)
            .await
            .expect("connect to the test database")
    }
}

/// `url` without its password, to show.
fn redacted(url: &str) -> String {
    let authority = url.find("://").map_or(0, |at| at + 3);
    match (url[authority..].find(':'), url[authority..].find('@')) {
        (Some(colon), Some(at)) if colon < at => {
            format!("{}:…{}", &url[..authority + colon], &url[authority + at..])
        }
        _ => url.to_owned(),
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
            "skipping PostgreSQL conformance: {server} cannot be reached ({error}); \
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

async fn postgres() -> Option<Harness> {
    let database = TestDatabase::create().await?;
    let store = database.store().await;
    let peer = database.store().await;
    Some(Harness::new(store, peer, database))
}

conformance::conformance_tests!(postgres().await);

/// The next invalidation a node hears, which must come soon.
async fn next(heard: &mut mpsc::Receiver<Invalidation>) -> Invalidation {
    tokio::time::timeout(Duration::from_secs(10), heard.recv())
        .await
        .expect("an invalidation within 10 s")
        .expect("the listener runs")
}

#[test]
fn urls_get_their_database_replaced() {
    assert_eq!(
        with_database("postgres://u@h:5432/postgres", "x"),
        "postgres://u@h:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/db?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    assert_eq!(
        redacted("postgres://u:secret@h:5432/db"),
        "postgres://u:…@h:5432/db"
    );
    assert_eq!(redacted("postgres://u@h:5432/db"), "postgres://u@h:5432/db");
}

#[tokio::test]
async fn every_change_that_invalidates_tokens_reaches_the_other_nodes() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let one = database.store().await;
    let two = database.store().await;
    let mut heard = two.invalidations().await.expect("listen");
    let store: &dyn Store = &one;

    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    let acme = org(store, "acme", &alice).await;
    join(store, &acme, &bob, Role::Member).await;

    let laptop = mint(&alice, &acme, "laptop").insert(store).await;
    store.revoke_token(laptop.id(), now_plus(0)).await.unwrap();
    assert_eq!(
        next(&mut heard).await,
        Invalidation::Evict(vec![laptop.hash()])
    );

    let ci = mint(&alice, &acme, "ci").insert(store).await;
    let secret = Secret::generate(&SecretFormat::default());
    store
        .rotate_token(ci.id(), secret.hash(), &secret.hint())
        .await
        .unwrap();
    assert_eq!(next(&mut heard).await, Invalidation::Evict(vec![ci.hash()]));

    let east = new_group(store, &acme, "east").await;
    let pinned = mint(&alice, &acme, "east")
        .in_group(&east)
        .scopes(&["read"])
        .insert(store)
        .await;
    store.delete_group(east.id, now_plus(0)).await.unwrap();
    assert_eq!(
        next(&mut heard).await,
        Invalidation::Evict(vec![pinned.hash()])
    );

    store
        .set_role(acme.id, bob.id(), Role::Viewer)
        .await
        .unwrap();
    assert_eq!(next(&mut heard).await, Invalidation::ClearAll);

    let bobs = mint(&bob, &acme, "bob's").insert(store).await;
    store
        .remove_member(acme.id, bob.id(), now_plus(0))
        .await
        .unwrap();
    assert_eq!(
        next(&mut heard).await,
        Invalidation::Evict(vec![bobs.hash()])
    );

    // More tokens than one notification holds: everything goes.
    let many = org(store, "many", &alice).await;
    for n in 0..120 {
        mint(&alice, &many, &format!("token {n}"))
            .insert(store)
            .await;
    }
    store
        .delete_organization(many.id, now_plus(0))
        .await
        .unwrap();
    assert_eq!(next(&mut heard).await, Invalidation::ClearAll);

    let carol = person(store, "carol").await;
    let hers = mint(&carol, &carol.personal, "hers").insert(store).await;
    store.delete_account(carol.id(), now_plus(0)).await.unwrap();
    assert_eq!(
        next(&mut heard).await,
        Invalidation::Evict(vec![hers.hash()])
    );

    // A refused change sends nothing: the next thing heard is the next revocation.
    assert!(store.delete_account(carol.id(), now_plus(0)).await.is_err());
    let last = mint(&alice, &acme, "last").insert(store).await;
    store.revoke_token(last.id(), now_plus(0)).await.unwrap();
    assert_eq!(
        next(&mut heard).await,
        Invalidation::Evict(vec![last.hash()])
    );
}

#[tokio::test]
async fn a_listener_that_loses_its_connection_clears_the_cache_and_listens_again() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let store = database.store().await;
    let mut heard = store.invalidations().await.expect("listen");
    let mut admin = PgConnection::connect(&database.url).await.unwrap();
    let listening = async |admin: &mut PgConnection| -> Vec<i32> {
        sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = $1
               AND query LIKE 'LISTEN%'",
        )
        .bind(LISTENER_APPLICATION_NAME)
        .fetch_all(admin)
        .await
        .unwrap()
    };
    let before = listening(&mut admin).await;
    assert_eq!(before.len(), 1, "one listening connection: {before:?}");

    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(before[0])
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(killed);
    assert_eq!(
        next(&mut heard).await,
        Invalidation::ClearAll,
        "a node that may have missed something drops everything"
    );

    // It listens again, on a new connection.
    let mut after = Vec::new();
    for _ in 0..100 {
        after = listening(&mut admin).await;
        if !after.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(after.len(), 1, "listening again: {after:?}");
    assert_ne!(after, before);

    let alice = person(&store, "alice").await;
    let token = mint(&alice, &alice.personal, "laptop").insert(&store).await;
    store.revoke_token(token.id(), now_plus(0)).await.unwrap();
    loop {
        match next(&mut heard).await {
            Invalidation::ClearAll => continue,
            evict => {
                assert_eq!(evict, Invalidation::Evict(vec![token.hash()]));
                break;
            }
        }
    }
    let _ = admin.close().await;
}
