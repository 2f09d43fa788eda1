//! PostgreSQL, for many stateless nodes over one database: the same records, rules and orders
//! as the SQLite store, and invalidations sent to every node (see [`PostgresStore::invalidations`]).
//!
//! Every write is one READ COMMITTED transaction. Where two transactions could break a rule
//! that each checks alone, they meet on a row lock, always taken in one order (organizations,
//! accounts, memberships, groups, tokens) so that they wait for each other rather than
//! deadlock:
//! - minting takes a key-share lock on its organization, owner, creator, membership and group,
//!   which a deletion of any of them (a member's removal, a group's, an account's or an
//!   organization's deletion, each `FOR UPDATE`) waits for, and the other way round: a
//!   deletion never misses a token minted beside it, and a mint never outlives what it needs.
//!   Mints that arrive together are one statement (group commit), which takes these locks
//!   token after token, so it may deadlock with a deletion, and waits for a lock only briefly:
//!   either way its mints then run one by one;
//! - role changes and removals lock the organization's memberships `FOR UPDATE` before counting
//!   owners, so two owners stepping down at once never leave the organization without one;
//! - every statement that inserts tokens ends by taking, for each of their organizations in id
//!   order, that organization's advisory lock over its marks (migration 0007), after every row
//!   lock above, and holds it to its commit: writers into one organization take turns from
//!   there to their commits, so one that commits slowly (a bulk insert) delays that
//!   organization's mints, which wait for it as for a row lock.
//!
//! A transaction PostgreSQL aborts anyway (a deadlock, a serialization failure) is run again.

mod listen;
mod rows;

pub use listen::LISTENER_APPLICATION_NAME;

use std::future::Future;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::{
    Account, AccountId, Group, GroupId, Member, OrgId, Organization, Reach, Role, SecretHash, Slug,
    Timestamp, Token, TokenId, TokenName, TokenView,
};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Connection, Postgres, Row, Transaction};
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use crate::query::{TokenPage, TokenQuery};
use crate::sql::{
    ACCOUNT_COLUMNS, Arg, Dialect, FOLD_ROWS, FOLDED_DAY, GROUP_COLUMNS, Listing, NEVER,
    ORG_COLUMNS, TOKEN_VIEW, UNUSED, first_unfolded_day, names_holding_sql,
};
use crate::transfer::{self, Batch, Counts, Export, Kind, Table, Value};
use crate::trigrams::{NameSamples, SAMPLED_NAMES, TrigramSample};
use crate::{
    Evicted, Invalidation, NO_GROUP, NO_ORG, NO_OWNER, NOT_A_MEMBER, OrgKey, Result, Store,
    StoreError,
};
use rows::{account_from, group_from, hash_at, org_from, role_at, role_opt_at, token_view_from};

/// Embedded, append-only migrations; `_sqlx_migrations` records which have run.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections a node opens to the database at most, unless told otherwise.
pub const DEFAULT_CONNECTIONS: NonZeroU32 = NonZeroU32::new(16).expect("not zero");
/// Every counter counted again from the tokens, one row a count (slot 0), as migrations 0004
/// and 0006 first counted them; for [`Store::finish_import`], with no node running. The
/// counts by day are locked too, against a fold (which writes them and no token) of a node
/// running all the same: a folded row written after the `DELETE` would count its tokens twice.
const RECOUNT: &str = "
    LOCK TABLE tokens IN SHARE ROW EXCLUSIVE MODE;
    LOCK TABLE token_expiry_counts IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM token_counts;
    INSERT INTO token_counts (org_id, slot, total, revoked)
    SELECT org_id, 0, count(*), count(revoked_at) FROM tokens GROUP BY org_id;
    DELETE FROM token_expiry_counts;
    INSERT INTO token_expiry_counts (org_id, day, slot, live)
    SELECT org_id, expires_at / 86400, 0, count(*) FROM tokens WHERE revoked_at IS NULL
    GROUP BY org_id, expires_at / 86400;
    DELETE FROM group_token_counts;
    INSERT INTO group_token_counts (group_id, org_id, slot, total, revoked)
    SELECT group_id, org_id, 0, count(*), count(revoked_at) FROM tokens
    WHERE group_id IS NOT NULL GROUP BY group_id, org_id;
";
/// At most `$3` counts of live tokens by expiry day, of the days before `$1`, moved to one row
/// an organization on day `$2` (see [`Store::fold_counters`]); answers how many moved. The
/// fold waits for no write, so that no write waits for it in a cycle: a row a revocation
/// holds is left for the next fold, and so is an organization being deleted, which holds its
/// row against the key share that inserting its folded row would take, then revokes its
/// tokens, locking their days' rows.
const FOLD: &str = "
    WITH moved AS (
        DELETE FROM token_expiry_counts
        WHERE (org_id, day, slot) IN (
            SELECT c.org_id, c.day, c.slot
            FROM token_expiry_counts c JOIN organizations o ON o.id = c.org_id
            WHERE c.day > $2 AND c.day < $1
            LIMIT $3
            FOR UPDATE OF c SKIP LOCKED
            FOR KEY SHARE OF o SKIP LOCKED
        )
        RETURNING org_id, live
    ), folded AS (
        INSERT INTO token_expiry_counts (org_id, day, slot, live)
        SELECT org_id, $2, 0, CAST(sum(live) AS bigint) FROM moved GROUP BY org_id
        ON CONFLICT (org_id, day, slot)
        DO UPDATE SET live = token_expiry_counts.live + excluded.live
    )
    SELECT count(*) FROM moved
";
/// The class of the advisory lock a fold of the counters holds ('fold').
const FOLD_LOCK: i32 = 0x666f_6c64;
/// How long connecting to the server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A pooled connection idle longer than this is checked before it is used again.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(1);
/// How many times a transaction PostgreSQL aborted is tried in all.
const ATTEMPTS: u32 = 5;
/// Tokens one statement inserts at most: mints queued together share it and its commit.
const GROUP_COMMIT: usize = 256;
/// How a batch of mints begins: a row lock held longer than this (a deletion revoking many
/// tokens, a session idle in its transaction) sends the batch's mints to run alone, so that
/// it stalls only those that need the row.
const BATCH_BEGIN: &str = "BEGIN; SET LOCAL lock_timeout = '100ms'";
/// The most tokens a name filter's rare trigrams may find for the listing to read by their
/// ids; past it the sample misjudged the needle, and the listing finds them itself.
const MOST_FOUND: usize = 10_000;
/// Batches of mints in flight at once, each on a connection of its own. One batch commits
/// while the next is written; more only split the queue into smaller batches that contend for
/// the same rows and cores (64 clients minting on 2 cores: 1,500 mints/s with one or two in
/// flight, 1,300-1,400 with four, 900-1,100 with eight).
const MINT_BATCHES: usize = 2;

#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// How to connect, for the invalidation listener's own connection.
    options: PgConnectOptions,
    /// The queue of the task that inserts mints together ([`run_minter`]).
    mints: mpsc::Sender<Mint>,
    /// The stored names' trigrams, sampled, for name filters (see [`crate::trigrams`]).
    names: NameSamples,
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Backend(error.to_string())
    }
}

/// A failure inside a transaction: final, or transient (PostgreSQL aborted the transaction for
/// a deadlock or a serialization failure) and worth another try.
enum TxError {
    Final(StoreError),
    Transient(sqlx::Error),
}

impl From<sqlx::Error> for TxError {
    fn from(error: sqlx::Error) -> Self {
        let transient = matches!(
            &error,
            sqlx::Error::Database(e) if matches!(e.code().as_deref(), Some("40001" | "40P01"))
        );
        if transient {
            TxError::Transient(error)
        } else {
            TxError::Final(error.into())
        }
    }
}

impl From<StoreError> for TxError {
    fn from(error: StoreError) -> Self {
        TxError::Final(error)
    }
}

fn not_found(message: &str) -> TxError {
    TxError::Final(StoreError::NotFound(message.to_owned()))
}

fn conflict(message: String) -> TxError {
    TxError::Final(StoreError::Conflict(message))
}

/// Maps a unique-index violation to a conflict with `message`; any other error stays a failure.
fn conflict_on_unique(message: impl FnOnce() -> String) -> impl FnOnce(sqlx::Error) -> TxError {
    move |error| match &error {
        sqlx::Error::Database(e) if e.is_unique_violation() => conflict(message()),
        _ => error.into(),
    }
}

fn id(id: impl Into<Uuid>) -> Uuid {
    id.into()
}

/// A query built at run time (from the shared column lists or a listing).
fn dynamic(sql: String) -> Query<'static, Postgres, PgArguments> {
    sqlx::query(AssertSqlSafe(sql))
}

/// A transaction that reads one snapshot and writes nothing.
const READ_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/// Begins a transaction on a pooled connection (see [`begin_with`]).
async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    begin_with(pool, "BEGIN").await
}

/// Begins a transaction with `statement` (`BEGIN …`) on a pooled connection, in a task of its
/// own. sqlx 0.9 does not roll back a PostgreSQL transaction whose `begin` is dropped while the
/// `BEGIN` is in flight: the connection goes back to the pool inside it, and every later
/// statement on that connection runs in it, or fails once it has failed (sqlx issue 4393). A
/// request is dropped wherever it stands when its client goes away; in its own task `begin`
/// finishes, and a transaction nobody took is rolled back as any dropped one is.
async fn begin_with(
    pool: &PgPool,
    statement: &'static str,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let pool = pool.clone();
    tokio::spawn(async move { pool.begin_with(statement).await })
        .await
        .map_err(|_| sqlx::Error::WorkerCrashed)?
}

/// The views of the tokens `condition` (over `tokens t`) selects.
fn token_views(condition: &str) -> String {
    format!("{} WHERE {condition}", *TOKEN_VIEW)
}

/// A listing's query. Kept prepared, a statement is planned once for any arguments after
/// five executions whenever PostgreSQL estimates that plan no costlier, which saves planning
/// and parsing each page (about a millisecond) where the plan does not depend on the values.
/// Where it does ([`Listing::plan_for_values`]), the one plan is a trap: for
/// `name_folded LIKE $2` in general, walking the organization's tokens in the page's order
/// looks cheap, and for a name a few tokens have it reads the whole organization (1M tokens:
/// over half a second, where the trigram index answers in milliseconds). Such a listing runs
/// as an unnamed statement, planned at each execution with its arguments.
fn listing_query(listing: &Listing, sql: String) -> Query<'static, Postgres, PgArguments> {
    sqlx::query(AssertSqlSafe(sql)).persistent(!listing.plan_for_values)
}

/// A page's query: as [`listing_query`], but run unnamed where its text is the page's own (a
/// deep numbered page carries its offset), which would only crowd the connection's cache of
/// prepared statements.
fn page_query(
    listing: &Listing,
    sql: String,
    reused: bool,
) -> Query<'static, Postgres, PgArguments> {
    sqlx::query(AssertSqlSafe(sql)).persistent(reused && !listing.plan_for_values)
}

/// `url` without its password (in the user part or a `password=` parameter), to show.
pub fn redacted(url: &str) -> String {
    let authority = url.find("://").map_or(0, |at| at + 3);
    let end = url[authority..]
        .find(['/', '?'])
        .map_or(url.len(), |at| authority + at);
    let mut shown = match url[authority..end].rfind('@') {
        Some(at) => match url[authority..authority + at].find(':') {
            Some(colon) => format!("{}:…{}", &url[..authority + colon], &url[authority + at..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    };
    if let Some((base, query)) = shown.split_once('?') {
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=…"),
                _ => param.to_owned(),
            })
            .collect();
        shown = format!("{base}?{}", params.join("&"));
    }
    shown
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://…`) with a pool of up to `connections`,
    /// and brings its schema up to date. Commits are acknowledged once durable
    /// (`synchronous_commit = on`, unless the URL says otherwise).
    pub async fn connect(url: &str, connections: NonZeroU32) -> Result<Self> {
        let mut options = PgConnectOptions::from_str(url)?;
        if !url.contains("application_name") {
            options = options.application_name("latchkey");
        }
        if !url.contains("synchronous_commit") {
            options = options.options([("synchronous_commit", "on")]);
        }
        // One connection first, so that a server that refuses or does not answer is reported
        // as such, at once, rather than as a pool that timed out.
        let first = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .map_err(|_| {
                StoreError::Backend(format!(
                    "no answer from the server within {} s",
                    CONNECT_TIMEOUT.as_secs()
                ))
            })??;
        first.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(connections.get())
            // sqlx checks a connection with a round trip to the server each time it is taken
            // from the pool: a list page took three, beside its own queries. Only a connection
            // that sat idle a while (when a restart or a proxy's timeout may have closed it)
            // is checked; one in steady use fails its next query like any broken connection.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > CHECK_IDLE_AFTER {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&pool).await.map_err(|error| match error {
            sqlx::migrate::MigrateError::VersionMissing(version) => StoreError::Backend(format!(
                "the database has migration {version}, which this latchkey does not know: it is newer than this binary"
            )),
            other => StoreError::Backend(format!("migrating the database: {other}")),
        })?;
        let (mints, queue) = mpsc::channel(GROUP_COMMIT * MINT_BATCHES);
        tokio::spawn(run_minter(pool.clone(), queue));
        let names = NameSamples::new(sample_names(&pool).await?);
        Ok(Self {
            pool,
            options,
            mints,
            names,
        })
    }

    /// Samples the stored names again now, rather than at the first name filter once the
    /// sample has aged: for a store just filled, and for tests.
    pub async fn resample_names(&self) -> Result<()> {
        self.names.replace(sample_names(&self.pool).await?);
        Ok(())
    }

    /// The trigrams of a name filter's `needle` that the trigram index looks up, rarest first,
    /// where not all of them (see [`crate::trigrams`]).
    pub fn trigrams_looked_up(&self, needle: &str) -> Option<Vec<String>> {
        self.name_sample().selective(&needle.to_lowercase())
    }

    /// The current sample of names, taken again in the background once it has aged.
    fn name_sample(&self) -> Arc<TrigramSample> {
        let pool = self.pool.clone();
        self.names
            .current(|| async move { sample_names(&pool).await })
    }

    /// The tokens whose names hold the needle of `query`'s name filter, found through its
    /// rare trigrams (see [`crate::trigrams`]); `None` where the listing should find them
    /// itself, through all of them.
    async fn names_holding(&self, query: &TokenQuery) -> Result<Option<Vec<Uuid>>> {
        // A NUL matches nothing, and PostgreSQL takes no text holding one (see the listing).
        let Some(needle) = query.name_contains.as_ref().filter(|n| !n.contains('\0')) else {
            return Ok(None);
        };
        let folded = needle.to_lowercase();
        let Some(trigrams) = self.name_sample().selective(&folded) else {
            return Ok(None);
        };
        let (sql, args) = names_holding_sql(
            &trigrams,
            &folded,
            query.org.map(Uuid::from),
            MOST_FOUND + 1,
        );
        let rows = bind(sqlx::query(AssertSqlSafe(sql)).persistent(false), &args)
            .fetch_all(&self.pool)
            .await?;
        // The sample misjudged the needle: the listing finds its many tokens itself.
        if rows.len() > MOST_FOUND {
            return Ok(None);
        }
        let ids = rows
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<Vec<Uuid>, _>>()?;
        Ok(Some(ids))
    }
}

/// About [`SAMPLED_NAMES`] stored names, from pages drawn at random: the table's estimated
/// size sets the share of pages to read, so that a large table is not read whole. A table
/// never analyzed has no estimate; its first pages are read then, up to the limit.
async fn sample_names(pool: &PgPool) -> Result<TrigramSample> {
    let rows: f32 =
        sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE oid = 'tokens'::regclass")
            .fetch_one(pool)
            .await?;
    let wanted = SAMPLED_NAMES as f64;
    let percent = if rows > 0.0 {
        (100.0 * wanted / f64::from(rows)).min(100.0)
    } else {
        100.0
    };
    // The limit only guards against a table that outgrew its estimate: cut there, a sample
    // would hold its first pages' names.
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name_folded FROM tokens TABLESAMPLE SYSTEM ($1) LIMIT $2")
            .bind(percent)
            .bind(4 * SAMPLED_NAMES as i64)
            .fetch_all(pool)
            .await?;
    // Read whole, a small table's sample is its size.
    let stored = if rows > 0.0 {
        rows as u64
    } else {
        names.len() as u64
    };
    Ok(TrigramSample::new(names.iter().map(String::as_str), stored))
}

/// Runs `work` (which begins and commits its own transaction) until it succeeds or fails for
/// good: a transaction PostgreSQL aborted for a deadlock or a serialization failure is run
/// again from the start.
async fn write<T, F, Fut>(work: F) -> Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, TxError>>,
{
    let mut attempt = 1;
    loop {
        match work().await {
            Ok(out) => return Ok(out),
            Err(TxError::Final(error)) => return Err(error),
            Err(TxError::Transient(error)) if attempt < ATTEMPTS => {
                tracing::debug!(%error, attempt, "PostgreSQL aborted a transaction; running it again");
                tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 10)).await;
                attempt += 1;
            }
            Err(TxError::Transient(error)) => return Err(error.into()),
        }
    }
}

/// Revokes every live token that `filter` (a WHERE clause over `tokens` whose parameters are
/// `$2`, `$3`… for `ids`) selects, returning the hashes to evict.
async fn revoke_where(
    tx: &mut PgConnection,
    now: Timestamp,
    filter: &str,
    ids: &[Uuid],
) -> Result<Evicted, TxError> {
    let mut query = dynamic(format!(
        "UPDATE tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND ({filter}) RETURNING hash"
    ))
    .bind(now.unix());
    for id in ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(tx).await?;
    Ok(rows
        .iter()
        .map(|row| hash_at(row, 0))
        .collect::<Result<Vec<_>, _>>()?)
}

/// Tells every node, at commit, to drop these hashes from its verification cache.
async fn notify(tx: &mut PgConnection, hashes: &[SecretHash]) -> Result<(), TxError> {
    if !hashes.is_empty() {
        send(tx, &listen::payload(hashes)).await?;
    }
    Ok(())
}

/// Tells every node, at commit, to drop its whole verification cache.
async fn notify_all(tx: &mut PgConnection) -> Result<(), TxError> {
    send(tx, listen::CLEAR_ALL).await
}

/// Tells every node, at commit, to drop the accounts, organizations and roles it keeps.
async fn notify_directory(tx: &mut PgConnection) -> Result<(), TxError> {
    send(tx, listen::DIRECTORY).await
}

async fn send(tx: &mut PgConnection, payload: &str) -> Result<(), TxError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(listen::CHANNEL)
        .bind(payload)
        .execute(tx)
        .await?;
    Ok(())
}

async fn view_by_id(
    conn: &mut PgConnection,
    token: TokenId,
) -> Result<Option<TokenView>, sqlx::Error> {
    dynamic(token_views("t.id = $1"))
        .bind(id(token))
        .fetch_optional(conn)
        .await?
        .map(|row| token_view_from(&row))
        .transpose()
}

/// Locks `org`'s memberships until the transaction ends and returns them: whoever changes who
/// owns the organization holds these locks first.
async fn lock_members(tx: &mut PgConnection, org: OrgId) -> Result<Vec<(Uuid, Role)>, TxError> {
    let rows = sqlx::query(
        "SELECT account_id, role FROM memberships WHERE org_id = $1 ORDER BY account_id FOR UPDATE",
    )
    .bind(id(org))
    .fetch_all(tx)
    .await?;
    Ok(rows
        .iter()
        .map(|row| Ok((row.try_get(0)?, role_at(row, 1)?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?)
}

async fn insert_org(
    tx: &mut PgConnection,
    org: &Organization,
    owner: AccountId,
) -> Result<(), TxError> {
    sqlx::query(
        "INSERT INTO organizations (id, slug, name, personal, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id(org.id))
    .bind(org.slug.as_str())
    .bind(&org.name)
    .bind(org.personal)
    .bind(org.created_at.unix())
    .execute(&mut *tx)
    .await
    .map_err(conflict_on_unique(|| {
        format!("an organization with slug '{}' already exists", org.slug)
    }))?;
    sqlx::query(
        "INSERT INTO memberships (org_id, account_id, role, created_at) VALUES ($1, $2, 'owner', $3)",
    )
    .bind(id(org.id))
    .bind(id(owner))
    .bind(org.created_at.unix())
    .execute(tx)
    .await?;
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    async fn root_account(&self) -> Result<Option<Account>> {
        let row = dynamic(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.is_root AND a.deleted_at IS NULL"
        ))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| account_from(&row)).transpose()?)
    }

    async fn create_account(
        &self,
        account: &Account,
        joins: Option<(OrgId, Role)>,
    ) -> Result<Organization> {
        write(move || async move {
            let mut tx = begin(&self.pool).await?;
            sqlx::query(
                "INSERT INTO accounts (id, username, email, kind, is_root, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id(account.id))
            .bind(account.username.as_str())
            .bind(account.email.as_ref().map(|e| e.as_str()))
            .bind(account.kind.as_str())
            .bind(account.is_root)
            .bind(account.created_at.unix())
            .execute(&mut *tx)
            .await
            .map_err(conflict_on_unique(|| {
                format!("the username '{}' is taken", account.username)
            }))?;
            let personal = Organization {
                id: OrgId::new(),
                slug: account.username.clone(),
                name: account.username.to_string(),
                personal: true,
                created_at: account.created_at,
            };
            insert_org(&mut tx, &personal, account.id)
                .await
                .map_err(|error| match error {
                    TxError::Final(StoreError::Conflict(_)) => conflict(format!(
                        "the username '{}' is taken by an organization",
                        account.username
                    )),
                    other => other,
                })?;
            if let Some((org, role)) = joins {
                // The organization is locked first, as every write here does, so a deletion
                // racing this join waits for it or wins outright.
                let joined = sqlx::query(
                    "WITH target AS (
                         SELECT id FROM organizations WHERE id = $1 AND deleted_at IS NULL FOR SHARE
                     )
                     INSERT INTO memberships (org_id, account_id, role, created_at)
                     SELECT id, $2, $3, $4 FROM target",
                )
                .bind(id(org))
                .bind(id(account.id))
                .bind(role.as_str())
                .bind(account.created_at.unix())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if joined == 0 {
                    return Err(not_found("no such organization"));
                }
            }
            tx.commit().await?;
            Ok(personal)
        })
        .await
    }

    async fn account(&self, account: AccountId) -> Result<Option<Account>> {
        let row = dynamic(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = $1 AND a.deleted_at IS NULL"
        ))
        .bind(id(account))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| account_from(&row)).transpose()?)
    }

    async fn account_by_username(&self, username: &Slug) -> Result<Option<Account>> {
        let row = dynamic(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.username = $1 AND a.deleted_at IS NULL"
        ))
        .bind(username.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| account_from(&row)).transpose()?)
    }

    async fn accounts(&self) -> Result<Vec<Account>> {
        let rows = dynamic(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.deleted_at IS NULL ORDER BY a.username"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(account_from).collect::<Result<_, _>>()?)
    }

    async fn delete_account(&self, account: AccountId, now: Timestamp) -> Result<Evicted> {
        write(move || async move {
            let mut tx = begin(&self.pool).await?;
            sqlx::query("SELECT 1 FROM accounts WHERE id = $1 AND deleted_at IS NULL FOR UPDATE")
                .bind(id(account))
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| not_found("no such account"))?;
            // Who owns each of the account's organizations stays as read until this commits.
            sqlx::query(
                "SELECT 1 FROM memberships
                 WHERE org_id IN (SELECT org_id FROM memberships WHERE account_id = $1)
                 ORDER BY org_id, account_id FOR UPDATE",
            )
            .bind(id(account))
            .execute(&mut *tx)
            .await?;
            let orphaned: Option<String> = sqlx::query_scalar(
                "SELECT o.slug FROM organizations o JOIN memberships m ON m.org_id = o.id
                 WHERE m.account_id = $1 AND m.role = 'owner' AND NOT o.personal
                   AND o.deleted_at IS NULL
                   AND (SELECT count(*) FROM memberships x
                        WHERE x.org_id = o.id AND x.role = 'owner') = 1
                 LIMIT 1",
            )
            .bind(id(account))
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(slug) = orphaned {
                return Err(conflict(format!(
                    "the account is the last owner of organization '{slug}'; give it another owner or delete it first"
                )));
            }
            sqlx::query("UPDATE accounts SET deleted_at = $2 WHERE id = $1")
                .bind(id(account))
                .bind(now.unix())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE organizations SET deleted_at = $2 WHERE personal AND deleted_at IS NULL
                   AND id IN (SELECT org_id FROM memberships WHERE account_id = $1)",
            )
            .bind(id(account))
            .bind(now.unix())
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM memberships WHERE account_id = $1")
                .bind(id(account))
                .execute(&mut *tx)
                .await?;
            let evicted = revoke_where(&mut tx, now, "owner_id = $2", &[id(account)]).await?;
            notify(&mut tx, &evicted).await?;
            notify_directory(&mut tx).await?;
            tx.commit().await?;
            Ok(evicted)
        })
        .await
    }

    async fn create_organization(&self, org: &Organization, owner: AccountId) -> Result<()> {
        write(move || async move {
            let mut tx = begin(&self.pool).await?;
            insert_org(&mut tx, org, owner).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn organization_by_slug(&self, slug: &Slug) -> Result<Option<Organization>> {
        let row = dynamic(format!(
            "SELECT {ORG_COLUMNS} FROM organizations o WHERE o.slug = $1 AND o.deleted_at IS NULL"
        ))
        .bind(slug.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| org_from(&row)).transpose()?)
    }

    async fn organization_and_role(
        &self,
        org: OrgKey,
        account: AccountId,
    ) -> Result<Option<(Organization, Option<Role>)>> {
        let by = match org {
            OrgKey::Id(_) => "o.id",
            OrgKey::Slug(_) => "o.slug",
        };
        let query = dynamic(format!(
            "SELECT {ORG_COLUMNS}, m.role FROM organizations o
             LEFT JOIN memberships m ON m.org_id = o.id AND m.account_id = $2
             WHERE {by} = $1 AND o.deleted_at IS NULL"
        ));
        let query = match &org {
            OrgKey::Id(org) => query.bind(id(*org)),
            OrgKey::Slug(slug) => query.bind(slug.as_str()),
        };
        let row = query.bind(id(account)).fetch_optional(&self.pool).await?;
        Ok(row
            .map(|row| Ok::<_, StoreError>((org_from(&row)?, role_opt_at(&row, 5)?)))
            .transpose()?)
    }

    async fn organizations_of(&self, account: AccountId) -> Result<Vec<(Organization, Role)>> {
        let rows = dynamic(format!(
            "SELECT {ORG_COLUMNS}, m.role FROM organizations o JOIN memberships m ON m.org_id = o.id
             WHERE m.account_id = $1 AND o.deleted_at IS NULL ORDER BY o.slug"
        ))
        .bind(id(account))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| Ok((org_from(row)?, role_at(row, 5)?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    async fn organizations(&self) -> Result<Vec<Organization>> {
        let rows = dynamic(format!(
            "SELECT {ORG_COLUMNS} FROM organizations o WHERE o.deleted_at IS NULL ORDER BY o.slug"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(org_from).collect::<Result<_, _>>()?)
    }

    async fn rename_organization(&self, org: OrgId, name: &str) -> Result<()> {
        write(move || async move {
            let mut tx = begin(&self.pool).await?;
            let changed = sqlx::query(
                "UPDATE organizations SET name = $2 WHERE id = $1 AND deleted_at IS NULL",
            )
            .bind(id(org))
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                return Err(not_found("no such organization"));
            }
            notify_directory(&mut tx).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn delete_organization(&self, org: OrgId, now: Timestamp) -> Result<Evicted> {
        write(move || async move {
            let mut tx = begin(&self.pool).await?;
            sqlx::query(
                "SELECT 1 FROM organizations WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
            )
            .bind(id(org))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| not_found("no such organization"))?;
            lock_members(&mut tx, org).await?;
            sqlx::query("UPDATE organizations SET deleted_at = $2 WHERE id = $1")
                .bind(id(org))
                .bind(now.unix())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM memberships WHERE org_id = $1")
                .bind(id(org))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE groups SET deleted_at = $2 WHERE org_id = $1 AND deleted_at IS NULL",
            )
            .bind(id(org))
            .bind(now.unix())
            .execute(&mut *tx)
            .await?;
            let evicted = revoke_where(&mut tx, now, "org_id = $2", &[id(org)]).await?;
            notify(&mut tx, &evicted).await?;
            notify_directory(&mut tx).await?;
            tx.commit().await?;
            Ok(evicted)
        })
        .await
    }

    async fn membership(&self, org: OrgId, account: AccountId) -> Result<Option<Role>> {
        let row = sqlx::query("SELECT role FROM memberships WHERE org_id = $1 AND account_id = $2")
            .bind(id(org))
            .bind(id(account))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| role_at(&row, 0)).transpose()?)
    }

    async fn members(&self, org: OrgId) -> Result<Vec<Member>> {
        let rows = dynamic(format!(
            "SELECT {ACCOUNT_COLUMNS}, m.role FROM accounts a JOIN memberships m ON m.account_id = a.id
             WHERE m.org_id = $1 AND a.deleted_at IS NULL ORDER BY a.username"
        ))
        .bind(id(org))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| {
                Ok(Member {
                    account: account_from(row)?,
                    role: role_at(row, 6)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }

    async fn add_member(
        &self,
        org: OrgId,
        account: AccountId,
        role: Role,
        now: Timestamp,
    ) -> Result<()> {
        write(move || async move {
            let mut tx = begin(&self.pool).await?;
            sqlx::query(
                "INSERT INTO memberships (org_id, account_id, role, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(id(org))
            .bind(id(account))
            .bind(role.as_str())
            .bind(now.unix())
            .execute(&mut *tx)
            .await
            .map_err(conflict_on_unique(|| {
                "already a member of the organization".to_owned()
            }))?;
            notify_directory(&mut tx).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn set_role(&self, org: OrgId, account: AccountId, role: Role) -> Result<()> {
        write(move || async move {
            let mut tx = begin(&self.pool).await?;
            let members = lock_members(&mut tx, org).await?;
            let current = members
                .iter()
                .find(|(member, _)| *member == id(account))
                .map(|(_, role)| *role)
                .ok_or_else(|| not_found("not a member of the organization"))?;
            let owners = members.iter().filter(|(_, r)| *r == Role::Owner).count();
            if current == Role::Owner && role != Role::Owner && owners <= 1 {
                return Err(conflict(
                    "the organization's last owner cannot step down; make another member owner first"
                        .to_owned(),
                ));
            }
            if role != current {
                sqlx::query("UPDATE memberships SET role = $3 WHERE org_id = $1 AND account_id = $2")
                    .bind(id(org))
                    .bind(id(account))
                    .bind(role.as_str())
                    .execute(&mut *tx)
                    .await?;
                // A role bounds every token of the member in the organization.
                notify_all(&mut tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn remove_member(
        &self,
        org: OrgId,
        account: AccountId,
        now: Timestamp,
    ) -> Result<Evicted> {
        write(move || async move {
            let mut tx = begin(&self.pool).await?;
            let members = lock_members(&mut tx, org).await?;
            let current = members
                .iter()
                .find(|(member, _)| *member == id(account))
                .map(|(_, role)| *role)
                .ok_or_else(|| not_found("not a member of the organization"))?;
            let owners = members.iter().filter(|(_, r)| *r == Role::Owner).count();
            if current == Role::Owner && owners <= 1 {
                return Err(conflict(
                    "the organization's last owner cannot be removed".to_owned(),
                ));
            }
            sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND account_id = $2")
                .bind(id(org))
                .bind(id(account))
                .execute(&mut *tx)
                .await?;
            let evicted = revoke_where(
                &mut tx,
                now,
                "org_id = $2 AND owner_id = $3",
                &[id(org), id(account)],
            )
            .await?;
            notify(&mut tx, &evicted).await?;
            notify_directory(&mut tx).await?;
            tx.commit().await?;
            Ok(evicted)
        })
        .await
    }

    async fn create_group(&self, group: &Group) -> Result<()> {
        write(move || async move {
            let mut tx = begin(&self.pool).await?;
            sqlx::query(
                "INSERT INTO groups (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(id(group.id))
            .bind(id(group.org))
            .bind(group.name.as_str())
            .bind(group.created_at.unix())
            .execute(&mut *tx)
            .await
            .map_err(conflict_on_unique(|| {
                format!("a group named '{}' already exists", group.name)
            }))?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn group(&self, group: GroupId) -> Result<Option<Group>> {
        let row = dynamic(format!(
            "SELECT {GROUP_COLUMNS} FROM groups WHERE id = $1 AND deleted_at IS NULL"
        ))
        .bind(id(group))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| group_from(&row)).transpose()?)
    }

    async fn group_by_name(&self, org: OrgId, name: &Slug) -> Result<Option<Group>> {
        let row = dynamic(format!(
            "SELECT {GROUP_COLUMNS} FROM groups WHERE org_id = $1 AND name = $2 AND deleted_at IS NULL"
        ))
        .bind(id(org))
        .bind(name.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| group_from(&row)).transpose()?)
    }

    async fn groups(&self, org: OrgId) -> Result<Vec<Group>> {
        let rows = dynamic(format!(
            "SELECT {GROUP_COLUMNS} FROM groups WHERE org_id = $1 AND deleted_at IS NULL ORDER BY name"
        ))
        .bind(id(org))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(group_from).collect::<Result<_, _>>()?)
    }

    async fn delete_group(&self, group: GroupId, now: Timestamp) -> Result<Evicted> {
        write(move || async move {
            let mut tx = begin(&self.pool).await?;
            sqlx::query("SELECT 1 FROM groups WHERE id = $1 AND deleted_at IS NULL FOR UPDATE")
                .bind(id(group))
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| not_found("no such group"))?;
            sqlx::query("UPDATE groups SET deleted_at = $2 WHERE id = $1")
                .bind(id(group))
                .bind(now.unix())
                .execute(&mut *tx)
                .await?;
            let evicted = revoke_where(&mut tx, now, "group_id = $2", &[id(group)]).await?;
            notify(&mut tx, &evicted).await?;
            tx.commit().await?;
            Ok(evicted)
        })
        .await
    }

    async fn insert_token(&self, token: &Token, hash: SecretHash) -> Result<()> {
        let gone = || StoreError::Backend("the minting task has stopped".into());
        let (done, outcome) = oneshot::channel();
        let mint = Mint {
            token: token.clone(),
            hash,
            done,
        };
        self.mints.send(mint).await.map_err(|_| gone())?;
        outcome.await.map_err(|_| gone())?
    }

    async fn insert_tokens(&self, tokens: Vec<(Token, SecretHash)>) -> Result<()> {
        let mut tokens: Vec<_> = tokens.iter().map(|(token, hash)| (token, *hash)).collect();
        // By organization, so that its statements take the organizations' mark locks in one
        // order, as every single statement does (see the module): two transactions inserting
        // into the same organizations then never wait for each other's.
        tokens.sort_by_key(|(token, _)| (token.org, token.id));
        let tokens = &tokens;
        write(move || async move {
            let mut tx = begin(&self.pool).await?;
            for chunk in tokens.chunks(GROUP_COMMIT) {
                for outcome in insert_tokens(&mut tx, chunk).await.map_err(taken)? {
                    outcome?;
                }
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn token(&self, token: TokenId) -> Result<Option<TokenView>> {
        let mut conn = self.pool.acquire().await?;
        Ok(view_by_id(&mut conn, token).await?)
    }

    async fn live_token_by_name(
        &self,
        owner: AccountId,
        name: &TokenName,
    ) -> Result<Option<TokenView>> {
        let row = dynamic(token_views(
            "t.owner_id = $1 AND t.name = $2 AND t.revoked_at IS NULL",
        ))
        .bind(id(owner))
        .bind(name.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| token_view_from(&row)).transpose()?)
    }

    async fn credential(&self, hash: SecretHash) -> Result<Option<TokenView>> {
        let row = dynamic(token_views("t.hash = $1"))
            .bind(&hash.0[..])
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| token_view_from(&row)).transpose()?)
    }

    async fn list_tokens(&self, query: &TokenQuery) -> Result<TokenPage> {
        let found = self.names_holding(query).await?;
        let listing = Listing::new(query, Dialect::Postgres, found.as_deref());
        // A page near the start, or one of a whole organization's list that the marks place
        // (see migration 0007), with its total: one statement.
        if let Some(page) = listing.counted_page_sql() {
            let rows = bind(page_query(&listing, page.sql, page.reused), &page.args)
                .fetch_all(&self.pool)
                .await?;
            let Some(first) = rows.first() else {
                return Err(StoreError::Backend(
                    "a counted page came back without its count".into(),
                ));
            };
            let total: i64 = first.try_get(first.len() - 1)?;
            let total = u64::try_from(total).map_err(|e| StoreError::Backend(e.to_string()))?;
            // An empty page is one row of NULLs, there for the total.
            let empty = first.try_get::<Option<Uuid>, _>(0)?.is_none();
            return page_of(
                &listing,
                query,
                if empty { &[] } else { &rows },
                Some(total),
            );
        }
        let Some((count_sql, count_args)) = listing.count() else {
            let rows = match listing.page_sql(None, None) {
                Some(page) => {
                    bind(page_query(&listing, page.sql, page.reused), &page.args)
                        .fetch_all(&self.pool)
                        .await?
                }
                None => Vec::new(),
            };
            return page_of(&listing, query, &rows, None);
        };
        // The count and the page read one snapshot: a deep page is found from the total.
        let mut snapshot = begin_with(&self.pool, READ_SNAPSHOT).await?;
        let total: i64 = bind(listing_query(&listing, count_sql), count_args)
            .fetch_one(&mut *snapshot)
            .await?
            .try_get(0)?;
        let total = u64::try_from(total).map_err(|e| StoreError::Backend(e.to_string()))?;
        let rows = match listing.page_sql(Some(total), None) {
            Some(page) => {
                bind(page_query(&listing, page.sql, page.reused), &page.args)
                    .fetch_all(&mut *snapshot)
                    .await?
            }
            None => Vec::new(),
        };
        snapshot.commit().await?;
        page_of(&listing, query, &rows, Some(total))
    }

    async fn revoke_token(
        &self,
        token: TokenId,
        now: Timestamp,
    ) -> Result<(TokenView, SecretHash)> {
        write(move || async move {
            let mut tx = begin(&self.pool).await?;
            sqlx::query("UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id(token))
                .bind(now.unix())
                .execute(&mut *tx)
                .await?;
            let row = sqlx::query("SELECT hash FROM tokens WHERE id = $1")
                .bind(id(token))
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| not_found("no such token"))?;
            let hash = hash_at(&row, 0)?;
            let view = view_by_id(&mut tx, token)
                .await?
                .ok_or_else(|| not_found("no such token"))?;
            notify(&mut tx, &[hash]).await?;
            tx.commit().await?;
            Ok((view, hash))
        })
        .await
    }

    async fn rotate_token(
        &self,
        token: TokenId,
        hash: SecretHash,
        hint: &str,
    ) -> Result<(TokenView, SecretHash)> {
        write(move || async move {
            let mut tx = begin(&self.pool).await?;
            // The lock makes a racing rotation read the hash this one writes, and so hand it
            // back for eviction.
            let row = sqlx::query(
                "SELECT hash FROM tokens WHERE id = $1 AND revoked_at IS NULL FOR UPDATE",
            )
            .bind(id(token))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| not_found("no live token with that id"))?;
            let old = hash_at(&row, 0)?;
            sqlx::query("UPDATE tokens SET hash = $2, hint = $3 WHERE id = $1")
                .bind(id(token))
                .bind(&hash.0[..])
                .bind(hint)
                .execute(&mut *tx)
                .await?;
            let view = view_by_id(&mut tx, token)
                .await?
                .ok_or_else(|| not_found("no such token"))?;
            notify(&mut tx, &[old]).await?;
            tx.commit().await?;
            Ok((view, old))
        })
        .await
    }

    async fn invalidations(&self) -> Result<Option<mpsc::Receiver<Invalidation>>> {
        self.subscribe().await.map(Some)
    }

    fn export(&self) -> Export {
        let pool = self.pool.clone();
        transfer::spawn_export(move |sender| async move { export(&pool, &sender).await })
    }

    async fn import(&self, batch: Batch) -> Result<()> {
        batch.check()?;
        if batch.rows.is_empty() {
            return Ok(());
        }
        write(|| async {
            let mut tx = begin(&self.pool).await?;
            insert_rows(&batch).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn finish_import(&self) -> Result<()> {
        // The counters' triggers wrote them once an imported batch, each in the slot of the
        // pooled connection it went through (a row for each count and connection: 903 rows for
        // 452 counts at a million tokens), and rewrote each row at every batch. Counted again
        // from the tokens, each count is one row, as the migrations that made them left them.
        let mut tx = begin(&self.pool).await?;
        sqlx::raw_sql(RECOUNT).execute(&mut *tx).await?;
        tx.commit().await?;
        // FULL gives back the pages of the rewritten rows, which a status page's total reads.
        // The rest gets the visibility map its index-only scans need and the planner's
        // statistics now, not when autovacuum comes. The tables are named: a role that is not
        // a superuser would be warned off each of the shared catalogs. VACUUM runs outside a
        // transaction, one statement a call.
        let tables: Vec<&str> = Table::ALL.iter().map(|table| table.name()).collect();
        sqlx::raw_sql(
            "VACUUM (FULL, ANALYZE) token_counts, token_expiry_counts, group_token_counts",
        )
        .execute(&self.pool)
        .await?;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "VACUUM (ANALYZE) token_marks, {}",
            tables.join(", ")
        )))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn counts(&self) -> Result<Counts> {
        let row = dynamic(transfer::counts_sql())
            .fetch_one(&self.pool)
            .await?;
        let counts = (0..Table::ALL.len())
            .map(|index| row.try_get::<i64, _>(index))
            .collect::<Result<Vec<_>, _>>()?;
        transfer::counts_from(counts)
    }

    async fn record_usage(&self, stamps: &[(TokenId, Timestamp)]) -> Result<()> {
        // One stamp per token, the latest; in id order, the order rows are locked in.
        let mut latest = std::collections::BTreeMap::<Uuid, i64>::new();
        for (token, at) in stamps {
            let slot = latest.entry(id(*token)).or_insert(at.unix());
            *slot = (*slot).max(at.unix());
        }
        if latest.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = latest.keys().copied().collect();
        let times: Vec<i64> = latest.values().copied().collect();
        write(|| async {
            let mut tx = begin(&self.pool).await?;
            // Lock in id order first, so that two nodes flushing at once queue rather than
            // deadlock.
            sqlx::query("SELECT 1 FROM tokens WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE")
                .bind(&ids)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE tokens t SET last_used_at = s.at
                 FROM unnest($1::uuid[], $2::bigint[]) AS s (id, at)
                 WHERE t.id = s.id AND t.last_used_at < s.at",
            )
            .bind(&ids)
            .bind(&times)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn fold_counters(&self, now: Timestamp) -> Result<()> {
        loop {
            let moved: i64 = write(|| async {
                let mut tx = begin(&self.pool).await?;
                // One node folds at a time: a node that finds another folding leaves it be.
                let ours: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1, 0)")
                    .bind(FOLD_LOCK)
                    .fetch_one(&mut *tx)
                    .await?;
                let moved = if ours {
                    sqlx::query_scalar(FOLD)
                        .bind(first_unfolded_day(now))
                        .bind(FOLDED_DAY)
                        .bind(FOLD_ROWS)
                        .fetch_one(&mut *tx)
                        .await?
                } else {
                    0
                };
                tx.commit().await?;
                Ok(moved)
            })
            .await?;
            // A step that moved fewer than it could found no more (or left them to another
            // node's fold).
            if moved < FOLD_ROWS {
                return Ok(());
            }
        }
    }
}

/// Sends every table, batch by batch, from one REPEATABLE READ snapshot, through a cursor so
/// that no more than a batch is held at once.
async fn export(pool: &PgPool, sender: &mpsc::Sender<Result<Batch>>) -> Result<()> {
    let mut tx = begin_with(pool, READ_SNAPSHOT).await?;
    for table in Table::ALL {
        let columns: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1",
        )
        .bind(table.name())
        .fetch_all(&mut *tx)
        .await?;
        transfer::check_columns(table, columns)?;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DECLARE export NO SCROLL CURSOR FOR {}",
            transfer::select_sql(table)
        )))
        .execute(&mut *tx)
        .await?;
        let fetch = format!("FETCH {} FROM export", transfer::BATCH_ROWS);
        loop {
            // Not kept prepared: the same words fetch another table's columns next time.
            let rows = dynamic(fetch.clone())
                .persistent(false)
                .fetch_all(&mut *tx)
                .await?;
            if rows.is_empty() {
                break;
            }
            let rows = rows
                .iter()
                .map(|row| read_values(row, table))
                .collect::<Result<Vec<_>, _>>()?;
            if sender.send(Ok(Batch { table, rows })).await.is_err() {
                return Ok(());
            }
        }
        sqlx::query("CLOSE export").execute(&mut *tx).await?;
    }
    tx.rollback().await?;
    Ok(())
}

/// A row's values, by the kinds of its table's columns.
fn read_values(row: &PgRow, table: Table) -> Result<Vec<Value>, sqlx::Error> {
    table
        .columns()
        .iter()
        .enumerate()
        .map(|(index, (_, kind))| {
            Ok(match kind {
                Kind::Id => row.try_get::<Option<Uuid>, _>(index)?.map(Value::Id),
                Kind::Text => row.try_get::<Option<String>, _>(index)?.map(Value::Text),
                Kind::Int => row.try_get::<Option<i64>, _>(index)?.map(Value::Int),
                Kind::Bool => row.try_get::<Option<bool>, _>(index)?.map(Value::Bool),
                Kind::Bytes => row.try_get::<Option<Vec<u8>>, _>(index)?.map(Value::Bytes),
            }
            .unwrap_or(Value::Null))
        })
        .collect()
}

/// One statement inserting a batch's rows, each column bound as one array (far quicker to
/// send and plan than a parameter per value). The batch was checked: every value fits its
/// column.
fn insert_rows(batch: &Batch) -> Query<'static, Postgres, PgArguments> {
    let columns = batch.table.columns();
    let arrays: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(index, (_, kind))| {
            let array = match kind {
                Kind::Id => "uuid[]",
                Kind::Text => "text[]",
                Kind::Int => "int8[]",
                Kind::Bool => "bool[]",
                Kind::Bytes => "bytea[]",
            };
            format!("${}::{array}", index + 1)
        })
        .collect();
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let mut query = dynamic(format!(
        "INSERT INTO {} ({}) SELECT * FROM unnest({})",
        batch.table,
        names.join(", "),
        arrays.join(", ")
    ));
    let rows = &batch.rows;
    for (index, (_, kind)) in columns.iter().enumerate() {
        query = match kind {
            Kind::Id => query.bind(column(rows, index, |value| match value {
                Value::Id(id) => Some(*id),
                _ => None,
            })),
            Kind::Text => query.bind(column(rows, index, |value| match value {
                Value::Text(text) => Some(text.clone()),
                _ => None,
            })),
            Kind::Int => query.bind(column(rows, index, |value| match value {
                Value::Int(int) => Some(*int),
                _ => None,
            })),
            Kind::Bool => query.bind(column(rows, index, |value| match value {
                Value::Bool(flag) => Some(*flag),
                _ => None,
            })),
            Kind::Bytes => query.bind(column(rows, index, |value| match value {
                Value::Bytes(bytes) => Some(bytes.clone()),
                _ => None,
            })),
        };
    }
    query
}

/// The `index`th value of every row, as `pick` reads it (`None` for a NULL).
fn column<T>(
    rows: &[Vec<Value>],
    index: usize,
    pick: impl Fn(&Value) -> Option<T>,
) -> Vec<Option<T>> {
    rows.iter().map(|row| pick(&row[index])).collect()
}

/// The page that a listing's rows make.
fn page_of(
    listing: &Listing,
    query: &TokenQuery,
    rows: &[PgRow],
    total: Option<u64>,
) -> Result<TokenPage> {
    let tokens = rows
        .iter()
        .map(token_view_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(listing.page(query, tokens, total))
}

/// Binds a listing's arguments.
fn bind(
    mut query: Query<'static, Postgres, PgArguments>,
    args: &[Arg],
) -> Query<'static, Postgres, PgArguments> {
    for arg in args {
        query = match arg {
            Arg::Int(value) => query.bind(*value),
            Arg::Text(value) => query.bind(value.clone()),
            Arg::Id(value) => query.bind(*value),
            Arg::Ids(values) => query.bind(values.clone()),
        };
    }
    query
}

/// Inserts tokens and their scopes in one statement, each where everything it needs is there
/// and its name is free among its owner's live tokens (the first of the batch wins a name
/// two of them hold): what became of each, in order. On its own (outside a transaction) the
/// statement is one commit, and the counters' triggers run once for all of them.
async fn insert_tokens(
    conn: &mut PgConnection,
    tokens: &[(&Token, SecretHash)],
) -> Result<Vec<Result<()>>, sqlx::Error> {
    let mut ids = Vec::with_capacity(tokens.len());
    let mut hashes = Vec::with_capacity(tokens.len());
    let mut hints = Vec::with_capacity(tokens.len());
    let mut owners = Vec::with_capacity(tokens.len());
    let mut creators = Vec::with_capacity(tokens.len());
    let mut orgs = Vec::with_capacity(tokens.len());
    let mut account_wide = Vec::with_capacity(tokens.len());
    let mut groups = Vec::with_capacity(tokens.len());
    let mut names = Vec::with_capacity(tokens.len());
    let mut scopes = Vec::with_capacity(tokens.len());
    let mut types = Vec::with_capacity(tokens.len());
    let mut created = Vec::with_capacity(tokens.len());
    let mut expires = Vec::with_capacity(tokens.len());
    let mut used = Vec::with_capacity(tokens.len());
    let mut revoked = Vec::with_capacity(tokens.len());
    let mut folded = Vec::with_capacity(tokens.len());
    for (token, hash) in tokens {
        ids.push(id(token.id));
        hashes.push(&hash.0[..]);
        hints.push(token.hint.as_str());
        owners.push(id(token.owner));
        creators.push(id(token.created_by));
        orgs.push(id(token.org));
        account_wide.push(token.reach == Reach::Account);
        groups.push(match token.reach {
            Reach::Group(group) => Some(id(group)),
            Reach::Account | Reach::Organization => None,
        });
        names.push(token.name.as_str());
        scopes.push(token.scopes.to_stored());
        types.push(token.token_type.as_str());
        created.push(token.created_at.unix());
        expires.push(token.expires_at.map_or(NEVER, Timestamp::unix));
        used.push(token.last_used_at.map_or(UNUSED, Timestamp::unix));
        revoked.push(token.revoked_at.map(Timestamp::unix));
        folded.push(token.name.as_str().to_lowercase());
    }
    // Key-share locks on what each token needs: whatever deletes one of them waits for this
    // statement's transaction, and this one waits for it (and then finds it gone). A token is
    // written only when everything it needs is there; the checks say what was missing.
    let rows = sqlx::query(
        "WITH input AS (
             SELECT * FROM unnest($1::uuid[], $2::bytea[], $3::text[], $4::uuid[], $5::uuid[],
                                  $6::uuid[], $7::bool[], $8::uuid[], $9::text[], $10::text[],
                                  $11::text[], $12::int8[], $13::int8[], $14::int8[],
                                  $15::int8[], $16::text[])
                 WITH ORDINALITY AS i (id, hash, hint, owner_id, created_by, org_id, account_wide,
                                       group_id, name, scopes, token_type, created_at,
                                       expires_at, last_used_at, revoked_at, name_folded, n)
         ), checked AS (
             SELECT i.*,
                    EXISTS (SELECT 1 FROM organizations o
                            WHERE o.id = i.org_id AND o.deleted_at IS NULL FOR KEY SHARE) AS org,
                    -- The owner and the creator together, in id order, before the membership.
                    i.owner_id = ANY (ARRAY(
                        SELECT a.id FROM accounts a
                        WHERE a.id IN (i.owner_id, i.created_by) AND a.deleted_at IS NULL
                        ORDER BY a.id FOR KEY SHARE)) AS owner,
                    EXISTS (SELECT 1 FROM accounts a WHERE a.id = i.owner_id AND a.is_root)
                        OR EXISTS (SELECT 1 FROM memberships m
                                   WHERE m.org_id = i.org_id AND m.account_id = i.owner_id
                                   FOR KEY SHARE) AS member,
                    i.group_id IS NULL
                        OR EXISTS (SELECT 1 FROM groups g
                                   WHERE g.id = i.group_id AND g.org_id = i.org_id
                                     AND g.deleted_at IS NULL FOR KEY SHARE) AS grp
             FROM input i
         ), inserted AS (
             INSERT INTO tokens (id, hash, hint, owner_id, created_by, org_id, account_wide,
                                 group_id, name, scopes, token_type, created_at, expires_at,
                                 last_used_at, revoked_at, name_folded)
             SELECT id, hash, hint, owner_id, created_by, org_id, account_wide, group_id, name,
                    scopes, token_type, created_at, expires_at, last_used_at, revoked_at,
                    name_folded
             FROM checked WHERE org AND owner AND member AND grp
             -- One order for every batch, so that two never wait on each other's names.
             ORDER BY owner_id, name, n
             ON CONFLICT (owner_id, name) WHERE revoked_at IS NULL DO NOTHING
             RETURNING id, scopes
         ), scoped AS (
             INSERT INTO token_scopes (scope, token_id)
             SELECT unnest(string_to_array(scopes, ' ')), id FROM inserted
         )
         SELECT org, owner, member, grp, id IN (SELECT id FROM inserted) AS inserted
         FROM checked ORDER BY n",
    )
    .bind(ids)
    .bind(hashes)
    .bind(hints)
    .bind(owners)
    .bind(creators)
    .bind(orgs)
    .bind(account_wide)
    .bind(groups)
    .bind(&names)
    .bind(scopes)
    .bind(types)
    .bind(created)
    .bind(expires)
    .bind(used)
    .bind(revoked)
    .bind(folded)
    .fetch_all(conn)
    .await?;
    if rows.len() != tokens.len() {
        return Err(sqlx::Error::Protocol(format!(
            "{} tokens to insert came back as {} rows",
            tokens.len(),
            rows.len()
        )));
    }
    let missing = [
        ("org", NO_ORG),
        ("owner", NO_OWNER),
        ("member", NOT_A_MEMBER),
        ("grp", NO_GROUP),
    ];
    rows.iter()
        .zip(names)
        .map(|(row, name)| {
            for (check, message) in missing {
                if !row.try_get::<bool, _>(check)? {
                    return Ok(Err(StoreError::NotFound(message.to_owned())));
                }
            }
            Ok(if row.try_get::<bool, _>("inserted")? {
                Ok(())
            } else {
                Err(StoreError::Conflict(format!(
                    "a live token named '{name}' already exists for this account"
                )))
            })
        })
        .collect()
}

/// Maps a unique-index violation other than a live name's (which the statement skips and
/// reports itself) to a conflict.
fn taken(error: sqlx::Error) -> TxError {
    conflict_on_unique(|| "a token with this id or secret already exists".to_owned())(error)
}

/// A mint waiting for the next batch, and where its outcome goes.
struct Mint {
    token: Token,
    hash: SecretHash,
    done: oneshot::Sender<Result<()>>,
}

/// Group commit: takes every mint queued while the batches in flight ran (up to
/// [`GROUP_COMMIT`]) and inserts them in one statement on a connection of their own, with up
/// to [`MINT_BATCHES`] such batches at once. A mint alone goes out at once, as a batch of one.
/// Ends when the last store handle is dropped.
async fn run_minter(pool: PgPool, mut queue: mpsc::Receiver<Mint>) {
    let slots = Arc::new(Semaphore::new(MINT_BATCHES));
    loop {
        let slot = Arc::clone(&slots)
            .acquire_owned()
            .await
            .expect("the minter never closes its semaphore");
        let mut batch = Vec::with_capacity(GROUP_COMMIT);
        if queue.recv_many(&mut batch, GROUP_COMMIT).await == 0 {
            return;
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            let refused = mint(&pool, batch).await;
            // Mints that run alone wait on their own, as any other write does.
            drop(slot);
            for one in refused {
                let pool = pool.clone();
                tokio::spawn(async move { mint_alone(&pool, one).await });
            }
        });
    }
}

/// Inserts a batch of mints and tells each what became of it; hands back the mints to run
/// alone, when the database refused the statement as a whole (a rule no check foresaw, a
/// deadlock, a row lock held longer than [`BATCH_BEGIN`] allows) so that a failure stays its
/// own and a lock stalls only the mints that need it.
async fn mint(pool: &PgPool, mut batch: Vec<Mint>) -> Vec<Mint> {
    // A caller that went away before its turn gets no token it could never have been shown.
    // (The server's calls run to their end whatever their client does: this is for callers
    // of the store that are dropped, such as a task cancelled at shutdown.)
    batch.retain(|m| !m.done.is_closed());
    if batch.is_empty() {
        return batch;
    }
    let outcomes = {
        let tokens: Vec<_> = batch.iter().map(|m| (&m.token, m.hash)).collect();
        insert_batch(pool, &tokens).await
    };
    match outcomes {
        Ok(outcomes) => {
            for (mint, outcome) in batch.into_iter().zip(outcomes) {
                // A caller that went away no longer waits for its answer.
                let _ = mint.done.send(outcome);
            }
            Vec::new()
        }
        Err(sqlx::Error::Database(_)) => batch,
        // The connection or the pool failed: every mint of the batch would fail alike.
        Err(error) => {
            let message = error.to_string();
            for mint in batch {
                let _ = mint.done.send(Err(StoreError::Backend(message.clone())));
            }
            Vec::new()
        }
    }
}

/// Inserts `tokens` in one transaction that waits for a row lock only as long as
/// [`BATCH_BEGIN`] allows.
async fn insert_batch(
    pool: &PgPool,
    tokens: &[(&Token, SecretHash)],
) -> Result<Vec<Result<()>>, sqlx::Error> {
    let mut tx = begin_with(pool, BATCH_BEGIN).await?;
    let outcomes = insert_tokens(&mut tx, tokens).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// Inserts one mint in a statement of its own (run again if PostgreSQL aborts it).
async fn mint_alone(pool: &PgPool, mint: Mint) {
    let outcome = write(|| async {
        let mut conn = pool.acquire().await?;
        let outcomes = insert_tokens(&mut conn, &[(&mint.token, mint.hash)])
            .await
            .map_err(taken)?;
        Ok(outcomes
            .into_iter()
            .next()
            .expect("insert_tokens answers for every token or fails"))
    })
    .await
    .and_then(|outcome| outcome);
    let _ = mint.done.send(outcome);
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn passwords_are_never_shown() {
        assert_eq!(
            redacted("postgres://u:secret@h:5432/db"),
            "postgres://u:…@h:5432/db"
        );
        assert_eq!(
            redacted("postgresql://u:p@ss@h/db?sslmode=disable&password=x"),
            "postgresql://u:…@h/db?sslmode=disable&password=…"
        );
        assert_eq!(redacted("postgres://u@h:5432/db"), "postgres://u@h:5432/db");
        assert_eq!(redacted("postgres://h"), "postgres://h");
    }
}
