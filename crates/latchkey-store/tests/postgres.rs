//! The conformance suite on the PostgreSQL store, each test in a database of its own (see
//! `test_database`), and the invalidations every node hears.

mod conformance;
mod test_database;

use std::time::Duration;

use futures_util::FutureExt as _;

use conformance::Harness;
use conformance::support::{DAY, Person, join, mint, names, new_group, now_plus, org, person};
use latchkey_core::{Role, Secret, SecretFormat};
use latchkey_store::postgres::{LISTENER_APPLICATION_NAME, redacted};
use latchkey_store::{Invalidation, PageRequest, PostgresStore, Store, StoreError, TokenQuery};
use sqlx::{Connection, PgConnection};
use test_database::{TestDatabase, with_database};
use tokio::sync::mpsc;

async fn postgres() -> Option<Harness> {
    let database = TestDatabase::create().await?;
    let store = database.store().await;
    let peer = database.store().await;
    Some(Harness::new(store, peer, database))
}

conformance::conformance_tests!(postgres().await);

/// A store in a database of its own, with one person in it; `None` without PostgreSQL.
async fn store_with_alice() -> Option<(TestDatabase, PostgresStore, Person)> {
    let database = TestDatabase::create().await?;
    let store = database.store().await;
    let alice = person(&store, "alice").await;
    Some((database, store, alice))
}

async fn listen(store: &PostgresStore) -> mpsc::Receiver<Invalidation> {
    store
        .invalidations()
        .await
        .expect("listen")
        .expect("PostgreSQL has invalidations")
}

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
async fn every_change_that_invalidates_tokens_or_roles_reaches_the_other_nodes() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let one = database.store().await;
    let two = database.store().await;
    let mut heard = listen(&two).await;
    let store: &dyn Store = &one;

    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    let acme = org(store, "acme", &alice).await;
    join(store, &acme, &bob, Role::Member).await;
    assert_eq!(next(&mut heard).await, Invalidation::Directory);
    store
        .rename_organization(acme.id, "Acme Inc")
        .await
        .unwrap();
    assert_eq!(next(&mut heard).await, Invalidation::Directory);

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
    assert_eq!(next(&mut heard).await, Invalidation::Directory);

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
    assert_eq!(next(&mut heard).await, Invalidation::Directory);

    let carol = person(store, "carol").await;
    let hers = mint(&carol, &carol.personal, "hers").insert(store).await;
    store.delete_account(carol.id(), now_plus(0)).await.unwrap();
    assert_eq!(
        next(&mut heard).await,
        Invalidation::Evict(vec![hers.hash()])
    );
    assert_eq!(next(&mut heard).await, Invalidation::Directory);

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
async fn a_listener_that_loses_its_connection_says_so_and_listens_again() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let store = database.store().await;
    let mut heard = listen(&store).await;
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
        Invalidation::Lost,
        "a node that may miss something stops trusting its cache"
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
    assert_eq!(
        next(&mut heard).await,
        Invalidation::Listening,
        "and trusts it again, after clearing it, once it listens again"
    );

    let alice = person(&store, "alice").await;
    let token = mint(&alice, &alice.personal, "laptop").insert(&store).await;
    store.revoke_token(token.id(), now_plus(0)).await.unwrap();
    assert_eq!(
        next(&mut heard).await,
        Invalidation::Evict(vec![token.hash()])
    );
    let _ = admin.close().await;
}

/// After an import, the counters are counted again from the tokens: one row a count, whatever
/// slots the import's connections wrote them in.
#[tokio::test]
async fn finishing_an_import_leaves_one_counter_row_a_count() {
    let Some((database, store, alice)) = store_with_alice().await else {
        return;
    };
    let prod = new_group(&store, &alice.personal, "prod").await;
    let mut tokens = Vec::new();
    for n in 0..4 {
        let token = mint(&alice, &alice.personal, &format!("token {n}"))
            .expires((n == 0).then(|| now_plus(3 * DAY)));
        let token = if n < 2 { token.in_group(&prod) } else { token };
        tokens.push(token.insert(&store).await);
    }
    for token in [&tokens[1], &tokens[2]] {
        store.revoke_token(token.id(), now_plus(0)).await.unwrap();
    }
    let mut admin = PgConnection::connect(&database.url).await.unwrap();
    // As an import through many connections leaves them: each count over two slots (those
    // above 15 are no connection's).
    sqlx::raw_sql(
        "INSERT INTO token_counts SELECT org_id, slot + 16, 1, 1 FROM token_counts;
         UPDATE token_counts SET total = total - 1, revoked = revoked - 1 WHERE slot < 16;
         INSERT INTO token_expiry_counts SELECT org_id, day, slot + 16, 1 FROM token_expiry_counts;
         UPDATE token_expiry_counts SET live = live - 1 WHERE slot < 16;
         INSERT INTO group_token_counts SELECT group_id, org_id, slot + 16, 1, 1
         FROM group_token_counts;
         UPDATE group_token_counts SET total = total - 1, revoked = revoked - 1 WHERE slot < 16;",
    )
    .execute(&mut admin)
    .await
    .unwrap();

    store.finish_import().await.unwrap();
    // Each counter as the tokens count it, in one row a count.
    for (counters, tokens) in [
        (
            "SELECT org_id, total, revoked FROM token_counts",
            "SELECT org_id, count(*), count(revoked_at) FROM tokens GROUP BY org_id",
        ),
        (
            "SELECT org_id, day, live FROM token_expiry_counts",
            "SELECT org_id, expires_at / 86400, count(*) FROM tokens WHERE revoked_at IS NULL
             GROUP BY org_id, expires_at / 86400",
        ),
        (
            "SELECT group_id, org_id, total, revoked FROM group_token_counts",
            "SELECT group_id, org_id, count(*), count(revoked_at) FROM tokens
             WHERE group_id IS NOT NULL GROUP BY group_id, org_id",
        ),
    ] {
        let rows = |sql: &str| {
            sqlx::query_scalar::<_, Vec<String>>(sqlx::AssertSqlSafe(format!(
                "SELECT coalesce(array_agg(r::text ORDER BY r::text), '{{}}') FROM ({sql}) r"
            )))
        };
        let kept = rows(counters).fetch_one(&mut admin).await.unwrap();
        assert_eq!(kept, rows(tokens).fetch_one(&mut admin).await.unwrap());
        assert!(!kept.is_empty(), "{counters}");
    }
    let _ = admin.close().await;
}

/// A fold leaves one count an organization for the days before yesterday, whatever slots
/// wrote them, and the days after as they were. A row a write holds is left for the next
/// fold, which the fold does not wait for.
#[tokio::test]
async fn a_fold_leaves_one_count_an_organization_for_the_days_before_yesterday() {
    let Some((database, store, alice)) = store_with_alice().await else {
        return;
    };
    for days in -6..=3 {
        mint(&alice, &alice.personal, &format!("expiring in {days} days"))
            .expires(Some(now_plus(days * DAY)))
            .insert(&store)
            .await;
    }
    let mut admin = PgConnection::connect(&database.url).await.unwrap();
    // Each day's count over two slots, as two connections' mints leave it.
    sqlx::raw_sql(
        "INSERT INTO token_expiry_counts SELECT org_id, day, slot + 16, 2 FROM token_expiry_counts;
         UPDATE token_expiry_counts SET live = live - 2 WHERE slot < 16;",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    let rows = "SELECT day, slot, live FROM token_expiry_counts ORDER BY day, slot";
    let rows = || sqlx::query_as::<_, (i64, i16, i64)>(rows);
    let before = rows().fetch_all(&mut admin).await.unwrap();
    let today = now_plus(0).unix() / DAY;
    let (past, kept): (Vec<&(i64, i16, i64)>, Vec<_>) =
        before.iter().partition(|row| row.0 < today - 1);
    assert_eq!(
        past.len(),
        10,
        "five days before yesterday, two slots each: {before:?}"
    );
    let held = **past
        .iter()
        .find(|row| row.0 == today - 5 && row.1 < 16)
        .unwrap();
    let with = |mut rows: Vec<(i64, i16, i64)>, more: &[(i64, i16, i64)]| {
        rows.extend_from_slice(more);
        rows.sort();
        rows
    };
    let kept: Vec<_> = kept.into_iter().copied().collect();

    // Another session holds the organization's row, as its deletion does before it revokes
    // its tokens (locking their days' rows): the fold leaves the organization be.
    let mut holder = PgConnection::connect(&database.url).await.unwrap();
    let held_while_folding = async |holder: &mut PgConnection, lock: String| {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("BEGIN; {lock} FOR UPDATE")))
            .execute(&mut *holder)
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), store.fold_counters(now_plus(0)))
            .await
            .unwrap_or_else(|_| panic!("a fold waits for no write, here: {lock}"))
            .unwrap();
    };
    let organization = "SELECT 1 FROM organizations WHERE slug = 'alice' AND deleted_at IS NULL";
    held_while_folding(&mut holder, organization.to_owned()).await;
    assert_eq!(rows().fetch_all(&mut admin).await.unwrap(), before);
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .unwrap();

    // Another session holds one of the rows of five days ago.
    let day_row = format!(
        "SELECT 1 FROM token_expiry_counts WHERE day = {} AND slot = {}",
        held.0, held.1
    );
    held_while_folding(&mut holder, day_row).await;
    // The five tokens' counts but the held row's, in one row.
    let folded = 5 - held.2;
    let after = rows().fetch_all(&mut admin).await.unwrap();
    assert_eq!(after, with(kept.clone(), &[held, (-1_000_000, 0, folded)]));

    sqlx::raw_sql("COMMIT").execute(&mut holder).await.unwrap();
    store.fold_counters(now_plus(0)).await.unwrap();
    let after = rows().fetch_all(&mut admin).await.unwrap();
    assert_eq!(after, with(kept.clone(), &[(-1_000_000, 0, 5)]));

    // Two and a half steps' worth of days long past, one token each, fold whole.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "INSERT INTO token_expiry_counts
         SELECT o.id, d, 0, 1 FROM organizations o, generate_series({}, {}) d
         WHERE o.slug = 'alice'",
        today - 30_000,
        today - 5_001
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    store.fold_counters(now_plus(0)).await.unwrap();
    let after = rows().fetch_all(&mut admin).await.unwrap();
    assert_eq!(after, with(kept, &[(-1_000_000, 0, 25_005)]));
    let _ = (admin.close().await, holder.close().await);
}

/// A request dropped while its transaction's `BEGIN` is in flight (its client went away) leaves
/// no pooled connection inside that transaction, for the next statements to run in.
#[tokio::test]
async fn a_request_dropped_at_its_begin_leaves_no_connection_in_a_transaction() {
    let Some((database, store, alice)) = store_with_alice().await else {
        return;
    };
    let token = mint(&alice, &alice.personal, "laptop").insert(&store).await;
    // Every pooled connection open, so that the next ones are taken at the first poll.
    futures_util::future::join_all((0..16).map(|_| store.token(token.id()))).await;
    for _ in 0..32 {
        // The first poll takes a connection and sends BEGIN; then the request is dropped.
        let dropped = store.revoke_token(token.id(), now_plus(0)).now_or_never();
        assert!(dropped.is_none(), "a revocation waits for its BEGIN");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Every connection still commits what it writes: each token is seen from the others.
    for n in 0..32 {
        mint(&alice, &alice.personal, &format!("after {n}"))
            .insert(&store)
            .await;
    }
    let mut admin = PgConnection::connect(&database.url).await.unwrap();
    let stuck: Vec<String> = sqlx::query_scalar(
        "SELECT state FROM pg_stat_activity
         WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(
        stuck.is_empty(),
        "sessions left in a transaction: {stuck:?}"
    );
    let _ = admin.close().await;
}

/// Mints that share a statement, one of which breaks a rule no check of the statement foresees
/// (here the index that keeps secrets' hashes unique, which two of them share): one of those
/// two fails, every other mint is stored.
#[tokio::test]
async fn a_mint_that_fails_its_shared_statement_fails_alone() {
    let Some((_database, store, alice)) = store_with_alice().await else {
        return;
    };
    let mints: Vec<_> = (0..32)
        .map(|n| mint(&alice, &alice.personal, &format!("shared {n}")).build())
        .collect();
    let (first, second) = (7, 20);
    let results = futures_util::future::join_all(mints.iter().enumerate().map(|(n, m)| {
        let hash = if n == second {
            mints[first].hash()
        } else {
            m.hash()
        };
        store.insert_token(&m.token, hash)
    }))
    .await;
    let mut refused = Vec::new();
    for (n, (minted, result)) in mints.iter().zip(results).enumerate() {
        let stored = store.token(minted.id()).await.unwrap();
        match result {
            Ok(()) => assert_eq!(stored.expect("stored").token, minted.token),
            Err(error) => {
                assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
                assert_eq!(stored, None, "a refused mint leaves nothing");
                refused.push(n);
            }
        }
    }
    assert!(
        refused == [first] || refused == [second],
        "one of the two with one hash is refused, and only it: {refused:?}"
    );
}

/// A row lock held a long time (here on one organization, as a deletion holds it) stalls the
/// mints that need that row, and only them: mints into other organizations that were queued
/// beside one of them are stored meanwhile, and the one that waited is stored once the lock
/// goes.
#[tokio::test]
async fn a_row_lock_stalls_only_the_mints_that_need_the_row() {
    let Some((database, store, alice)) = store_with_alice().await else {
        return;
    };
    let bob = person(&store, "bob").await;
    let mut locker = PgConnection::connect(&database.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query("SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE")
        .bind(uuid::Uuid::from(bob.personal.id))
        .execute(&mut locker)
        .await
        .unwrap();

    // On the test's one thread every mint below is queued before the minting task runs, so
    // that they share a batch: the one that waits and the ones that need not.
    let blocked = mint(&bob, &bob.personal, "waits").build();
    let waiting = {
        let (store, token, hash) = (store.clone(), blocked.token.clone(), blocked.hash());
        tokio::spawn(async move { store.insert_token(&token, hash).await })
    };
    let free: Vec<_> = (0..8)
        .map(|n| mint(&alice, &alice.personal, &format!("free {n}")).build())
        .collect();
    let stored = tokio::time::timeout(
        Duration::from_secs(5),
        futures_util::future::join_all(free.iter().map(|m| store.insert_token(&m.token, m.hash()))),
    )
    .await
    .expect("mints that need no locked row are stored while it is held");
    for result in stored {
        result.expect("a mint into another organization");
    }
    assert!(
        !waiting.is_finished(),
        "the mint into the locked organization waits"
    );

    sqlx::query("COMMIT").execute(&mut locker).await.unwrap();
    waiting
        .await
        .unwrap()
        .expect("the mint that waited is stored once the lock goes");
    assert!(store.token(blocked.id()).await.unwrap().is_some());
}

/// Two nodes minting into one organization at once, each in batches of its own: every mark
/// still counts the tokens before it and those of its stretch, the first is the
/// organization's first token, and no stretch is left a thousand long (see migration 0007).
#[tokio::test]
async fn marks_count_every_stretch_while_two_nodes_mint_at_once() {
    let Some((database, store, alice)) = store_with_alice().await else {
        return;
    };
    let peer = database.store().await;
    let mints: Vec<_> = (0..3_000)
        .map(|n| mint(&alice, &alice.personal, &format!("marked {n}")).build())
        .collect();
    // Every other token to each node: ids reach the two interleaved, committed in any order.
    let results = futures_util::future::join_all(mints.iter().enumerate().map(|(n, m)| {
        let node = if n % 2 == 0 { &store } else { &peer };
        node.insert_token(&m.token, m.hash())
    }))
    .await;
    for result in results {
        result.expect("a mint");
    }

    let mut conn = PgConnection::connect(&database.url).await.unwrap();
    let (wrong, stretches, counted): (i64, i64, i64) = sqlx::query_as(
        "WITH s AS (
             SELECT org_id, first_id, before, tokens,
                    lead(first_id) OVER (PARTITION BY org_id ORDER BY first_id) AS next_id,
                    first_value(first_id) OVER (PARTITION BY org_id ORDER BY first_id)
                        AS first_mark
             FROM token_marks)
         SELECT count(*) FILTER (
                    WHERE before <> (SELECT count(*) FROM tokens t
                                     WHERE t.org_id = s.org_id AND t.id < s.first_id)
                       OR tokens <> (SELECT count(*) FROM tokens t
                                     WHERE t.org_id = s.org_id AND t.id >= s.first_id
                                       AND (s.next_id IS NULL OR t.id < s.next_id))
                       OR tokens >= 1000
                       OR (first_id = first_mark
                           AND first_id <> (SELECT id FROM tokens t
                                            WHERE t.org_id = s.org_id
                                            ORDER BY id LIMIT 1))),
                count(*), CAST(sum(tokens) AS bigint)
         FROM s WHERE org_id = $1",
    )
    .bind(uuid::Uuid::from(alice.personal.id))
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(wrong, 0, "marks that miscount their stretch");
    assert_eq!(counted, 3_000);
    assert!(
        stretches >= 4,
        "{stretches} stretches, each under a thousand"
    );
    let _ = conn.close().await;
}

/// A name filter whose needle holds rare trigrams looks up those alone and checks the rows it
/// finds for the whole needle; one of common trigrams looks up all of them. Both find exactly
/// the names holding the needle, on numbered pages with their total and on cursor pages.
#[tokio::test]
async fn a_name_filter_finds_the_same_names_through_its_rare_trigrams() {
    let Some((_database, store, alice)) = store_with_alice().await else {
        return;
    };
    const WORDS: [&str; 4] = ["Deploy", "laptop", "backup", "runner"];
    let mut stored: Vec<String> = (0..1_200)
        .map(|n| format!("{} {n}", WORDS[n % WORDS.len()]))
        .collect();
    // Beside rare trigrams: characters LIKE would take for patterns, and letters to fold.
    stored.extend(["laptop 1041_Ü", "backup 1041%x", "runner 1041\\y"].map(String::from));
    // The same names in another organization, which no listing of Alice's shows.
    let bob = person(&store, "bob").await;
    let everyone = [(&alice, &alice.personal), (&bob, &bob.personal)];
    let all: Vec<_> = everyone
        .iter()
        .flat_map(|(who, org)| stored.iter().map(move |name| (*who, *org, name)))
        .collect();
    for chunk in all.chunks(256) {
        let mints: Vec<_> = chunk
            .iter()
            .map(|(who, org, name)| mint(who, org, name).build())
            .collect();
        let stored = futures_util::future::join_all(
            mints.iter().map(|m| store.insert_token(&m.token, m.hash())),
        )
        .await;
        assert!(stored.iter().all(Result::is_ok), "every mint stored");
    }
    assert_eq!(
        store.trigrams_looked_up("LAPTOP 1041"),
        None,
        "nothing sampled yet"
    );
    store.resample_names().await.expect("sample the names");
    let looked_up = store
        .trigrams_looked_up("LAPTOP 1041")
        .expect("rare trigrams");
    assert!(
        looked_up
            .iter()
            .all(|t| ["041", "104"].contains(&t.as_str())),
        "{looked_up:?}"
    );
    assert_eq!(store.trigrams_looked_up("deploy"), None);

    for needle in [
        "LAPTOP 1041",
        "BACKUP 1041",
        "1041",
        "1041_ü",
        "1041%",
        "1041\\",
        "1041_",
        "p 104",
        "oy 11",
        "deploy",
        "zq9",
    ] {
        let folded = needle.to_lowercase();
        let mut expected: Vec<&str> = stored
            .iter()
            .map(String::as_str)
            .filter(|name| name.to_lowercase().contains(&folded))
            .collect();
        expected.sort_unstable();
        let mut query = TokenQuery::new(now_plus(0));
        query.org = Some(alice.personal.id);
        query.name_contains = Some(needle.to_owned());
        query.sort = "name".parse().expect("a sort");
        query.page = PageRequest::Numbered {
            page: 1,
            per_page: 1_000,
        };
        let page = store.list_tokens(&query).await.expect("a numbered page");
        assert_eq!(names(&page), expected, "{needle}: numbered page");
        assert_eq!(page.total, Some(expected.len() as u64), "{needle}: total");

        let mut walked = Vec::new();
        let mut cursor = None;
        loop {
            query.page = PageRequest::After { cursor, limit: 7 };
            let page = store.list_tokens(&query).await.expect("a cursor page");
            walked.extend(names(&page));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(walked, expected, "{needle}: cursor pages");
    }
}
