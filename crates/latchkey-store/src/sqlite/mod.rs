//! The embedded default: one SQLite file in WAL mode, one writer thread that commits what
//! arrives together (group commit), a checkpointer thread that copies the log into the file
//! behind it, and a few readers.

mod rows;

use std::collections::{HashSet, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, TryLockError, mpsc as std_mpsc};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use latchkey_core::{
    Account, AccountId, Group, GroupId, Member, OrgId, Organization, Role, SecretHash, Slug,
    Timestamp, Token, TokenId, TokenName, TokenView,
};
use rusqlite::types::{ToSql, Value};
use rusqlite::{
    Connection, OptionalExtension, Statement, Transaction, TransactionBehavior, params,
};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::query::{TokenPage, TokenQuery};
use crate::sql::{
    ACCOUNT_COLUMNS, Arg, Dialect, FOLD_ROWS, FOLDED_DAY, Listing, Mark, NEVER, ORG_COLUMNS,
    PageSql, TOKEN_VIEW, UNUSED, first_unfolded_day,
};
use crate::transfer::{self, Batch, Batcher, Counts, Export, Kind, Table};
use crate::trigrams::{NameSamples, SAMPLED_NAMES, TrigramSample};
use crate::{Evicted, NO_GROUP, NO_ORG, NO_OWNER, NOT_A_MEMBER, OrgKey, Result, Store, StoreError};
use rows::{account_from, group_from, org_from, token_view_from};

/// Embedded, append-only migrations; `user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_listing_indexes.sql"),
    include_str!("../../migrations/sqlite/0003_token_counts.sql"),
    include_str!("../../migrations/sqlite/0004_group_index.sql"),
    include_str!("../../migrations/sqlite/0005_owner_index_only.sql"),
    include_str!("../../migrations/sqlite/0006_group_counts.sql"),
    include_str!("../../migrations/sqlite/0007_token_marks.sql"),
    include_str!("../../migrations/sqlite/0008_parents_without_rowid.sql"),
    include_str!("../../migrations/sqlite/0009_token_marks_first.sql"),
    include_str!("../../migrations/sqlite/0010_expiry_counts_by_day.sql"),
];

const READERS: usize = 4;
/// Statements the writer keeps prepared: room for all it prepares through the cache (about 35).
const WRITER_STATEMENTS: usize = 64;
/// Writes that share one commit at most: enough to turn a queue of small mints into one fsync,
/// few enough that the first of them does not wait long behind the rest.
const GROUP_COMMIT: usize = 256;
/// `last_used_at` stamps the writer writes between two looks at its queue: a write queued
/// meanwhile waits for them and the commit of their transaction. Under a verify load, whole
/// flushes held mints for half a second at p99 (BENCHMARKS.md).
const STAMPS_A_STEP: usize = 500;

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// The writer thread's queue; it ends when the last store handle is dropped, and the
    /// checkpointer thread with it.
    writer: std_mpsc::Sender<Job>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// The stored names' trigrams, sampled, for name filters (see [`crate::trigrams`]).
    names: NameSamples,
}

/// What the writer thread is given.
enum Job {
    Write(Write),
    Mint(Box<Mint>),
    Flush(Flush),
}

/// A write or a mint, queued for the writer. Commits take them in the order they came; within
/// one, its writes go first, then its mints (none of them is answered before the commit, so
/// none was waiting on another).
enum Queued {
    Write(Write),
    Mint(Box<Mint>),
}

/// A token to store, and where to tell what became of it. The writer stores the mints it
/// commits together in a few statements (see [`insert_mints`]).
struct Mint {
    token: Token,
    hash: SecretHash,
    reply: oneshot::Sender<Result<()>>,
}

/// A write waiting for the writer thread: it runs inside a shared transaction and hands back
/// whether it succeeded, and how to answer once the commit is known.
type Write = Box<dyn FnOnce(&Transaction<'_>) -> Ran + Send>;

/// A flush of `last_used_at` stamps, in token order, which the writer writes between writes
/// (see [`run_writer`]).
struct Flush {
    stamps: Vec<(TokenId, Timestamp)>,
    /// How many of them the writer has written so far.
    written: usize,
    reply: oneshot::Sender<Result<()>>,
}

struct Ran {
    ok: bool,
    /// Called with the commit's outcome (or the job's own failure); sends the result.
    reply: Box<dyn FnOnce(Result<(), String>) + Send>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Backend(error.to_string())
    }
}

/// Pages a connection keeps in memory, in KiB. Reads also go through a memory map (no copy,
/// no system call per page), so a reader needs little; the writer rewrites pages of every index
/// at random (a store of a million tokens is about a gigabyte), and each one it finds in its
/// cache is one it neither reads back nor checks against the log.
const READER_CACHE_KIB: u32 = 32 * 1024;
const WRITER_CACHE_KIB: u32 = 256 * 1024;
/// The checkpointer copies frames from the log to the file past the page cache.
const CHECKPOINTER_CACHE_KIB: u32 = 1024;

fn open_connection(path: &Path, cache_kib: u32) -> Result<Connection> {
    let conn = Connection::open(path)?;
    // FULL makes every acknowledged commit durable in WAL mode, not only on clean shutdowns.
    // The checkpointer thread copies the log into the database file (see
    // [`run_checkpointer`]); a connection that commits with 64 MiB of log behind it (not
    // SQLite's 4 MiB) copies what is left itself and lets the log start over, so the log stays
    // bounded whatever the checkpointer manages. Statement and savepoint journals (each insert
    // keeps the pages it changes until it completes) stay in memory instead of costing a system
    // call a page.
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA cache_size = -{cache_kib};
         PRAGMA mmap_size = 17179869184;
         PRAGMA wal_autocheckpoint = 16384;
         PRAGMA temp_store = MEMORY;"
    ))?;
    Ok(conn)
}

fn lock(mutex: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding a connection leaves it usable: SQLite rolls back an open transaction
    // when the next one starts, so poisoning carries no meaning here.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The connection if no one holds it; poisoning means nothing here either (see [`lock`]).
fn try_lock(mutex: &Mutex<Connection>) -> Option<MutexGuard<'_, Connection>> {
    match mutex.try_lock() {
        Ok(conn) => Some(conn),
        Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

impl Inner {
    /// A reader no one holds, trying each in turn from the next one; or, if all are held, the
    /// one to wait for.
    fn free_reader(&self) -> Result<MutexGuard<'_, Connection>, &Mutex<Connection>> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        (0..READERS)
            .find_map(|i| try_lock(&self.readers[(start + i) % READERS]))
            .ok_or(&self.readers[start % READERS])
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let mut writer = open_connection(path, WRITER_CACHE_KIB)?;
        // The writer's cached statements, the mints' eight among them, outnumber the sixteen
        // rusqlite keeps by default.
        writer.set_prepared_statement_cache_capacity(WRITER_STATEMENTS);
        migrate(&mut writer)?;
        optimize(&writer)?;
        let names = NameSamples::new(sample_names(&writer)?);
        let readers = (0..READERS)
            .map(|_| open_connection(path, READER_CACHE_KIB).map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        let checkpointer = open_connection(path, CHECKPOINTER_CACHE_KIB)?;
        let (commits, committed) = std_mpsc::sync_channel(1);
        let (queue, jobs) = std_mpsc::channel();
        spawn_thread("writer", move || run_writer(writer, &jobs, &commits))?;
        spawn_thread("checkpointer", move || {
            run_checkpointer(&checkpointer, &committed);
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                writer: queue,
                readers,
                next_reader: AtomicUsize::new(0),
                names,
            }),
        })
    }

    /// Runs `work` on the writer thread, in a savepoint of a transaction that it may share
    /// with other writes queued at the same moment: one commit, one fsync for all of them.
    /// A failing `work` undoes only its own changes. Returns once the commit is durable.
    async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Write = Box::new(move |tx| {
            let out = work(tx);
            Ran {
                ok: out.is_ok(),
                reply: Box::new(move |committed| {
                    let result = out
                        .and_then(|value| committed.map(|()| value).map_err(StoreError::Backend));
                    // A caller that stopped waiting has nobody to tell.
                    let _ = answer.send(result);
                }),
            }
        });
        self.send(Job::Write(job), answered).await
    }

    /// Hands `job` to the writer thread and waits for its answer.
    async fn send<T>(&self, job: Job, answered: oneshot::Receiver<Result<T>>) -> Result<T> {
        let gone = || StoreError::Backend("the writer did not answer".to_owned());
        self.inner.writer.send(job).map_err(|_| gone())?;
        answered.await.map_err(|_| gone())?
    }

    /// Runs `work`, a read of a few rows by an index, on a free reader right here: it takes
    /// microseconds, less than the hop to a blocking thread would. With every reader busy
    /// (long listings hold them), it waits for one off the async threads like
    /// [`Self::read_off_thread`].
    async fn point_read<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        match self.read_here(work) {
            Ok(out) => out,
            Err(work) => self.read_off_thread(work).await,
        }
    }

    /// Runs `work` on a reader that is free now, or hands it back.
    fn read_here<T, F>(&self, work: F) -> std::result::Result<T, F>
    where
        F: FnOnce(&Connection) -> T,
    {
        match self.inner.free_reader() {
            Ok(conn) => Ok(work(&conn)),
            Err(_) => Err(work),
        }
    }

    /// Runs `work` on a free reader right here if it completes within its budget
    /// ([`INLINE_STEPS`], [`INLINE_TIME`]), and off the async threads otherwise: SQLite
    /// interrupts it at the budget and it runs again there from the start, so `work` must
    /// change nothing but what the connection undoes itself (a read transaction). Most reads,
    /// a page of a listing with its total among them, take a tenth of a millisecond, less than
    /// the hop to a blocking thread and back costs under load; a long one holds an async
    /// thread for the budget at most.
    async fn read<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> Result<T> + Send + 'static,
    {
        let here = self.read_here(|conn| {
            let budget = StepBudget::set(conn, INLINE_STEPS, INLINE_TIME);
            let out = work(conn);
            (!budget.spent()).then_some(out)
        });
        match here.ok().flatten() {
            Some(out) => out,
            None => self.read_off_thread(work).await,
        }
    }

    /// Runs `work` on a reader connection, off the async threads: for reads that are long
    /// wherever they run, or that SQLite cannot interrupt in time (a full-text match works in
    /// steps of its own, which it neither counts nor interrupts).
    async fn read_off_thread<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        run_blocking(move || {
            let conn = inner.free_reader().unwrap_or_else(lock);
            work(&conn)
        })
        .await
    }

    /// Whether few stored names hold some trigram of a name filter's `needle`, by the current
    /// sample (see [`crate::trigrams`]).
    fn few_names_hold(&self, needle: &str) -> bool {
        let store = self.clone();
        let sample = self
            .inner
            .names
            .current(|| async move { store.read_off_thread(sample_names).await });
        sample.few_hold(&needle.to_lowercase())
    }
}

/// How much work a read may do on an async thread (see [`SqliteStore::read`]), in steps of
/// SQLite's virtual machine, checked every [`CHECK_EVERY`]; about a millisecond's work. At a
/// million tokens the first page of an organization with its total takes about 1,000 steps,
/// status=active 2,000, an owner's page 13,000, a group's of 10,000 tokens 31,000 (0.6 ms), a
/// numbered page 2,000 deep over 100,000. Counted in steps, not time, so that a read the kernel
/// preempts is not interrupted for the time others ran.
const INLINE_STEPS: i32 = 50_000;
/// The budget's backstop in time, for steps that wait on the disk (pages not yet read since
/// the start), which no count of steps bounds.
const INLINE_TIME: Duration = Duration::from_millis(5);
const CHECK_EVERY: i32 = 1_000;

/// Interrupts the connection's statements once they have taken a number of steps or a time,
/// until dropped.
struct StepBudget<'c> {
    conn: &'c Connection,
    spent: Arc<AtomicBool>,
}

impl<'c> StepBudget<'c> {
    fn set(conn: &'c Connection, steps: i32, time: Duration) -> Self {
        let spent = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&spent);
        let mut left = steps / CHECK_EVERY;
        let deadline = Instant::now() + time;
        conn.progress_handler(
            CHECK_EVERY,
            Some(move || {
                left = left.saturating_sub(1);
                let spent = left == 0 || Instant::now() >= deadline;
                flag.store(spent, Ordering::Relaxed);
                spent
            }),
        );
        Self { conn, spent }
    }

    /// Whether a statement was interrupted for it.
    fn spent(&self) -> bool {
        self.spent.load(Ordering::Relaxed)
    }
}

impl Drop for StepBudget<'_> {
    fn drop(&mut self) {
        self.conn.progress_handler(0, None::<fn() -> bool>);
    }
}

/// The writes, mints and stamps the writer has taken from its queue and not yet written.
#[derive(Default)]
struct Pending {
    writes: VecDeque<Queued>,
    flushes: VecDeque<Flush>,
}

impl Pending {
    fn add(&mut self, job: Job) {
        match job {
            Job::Write(write) => self.writes.push_back(Queued::Write(write)),
            Job::Mint(mint) => self.writes.push_back(Queued::Mint(mint)),
            Job::Flush(flush) => self.flushes.push_back(flush),
        }
    }

    fn take_queued(&mut self, queue: &std_mpsc::Receiver<Job>) {
        for job in queue.try_iter() {
            self.add(job);
        }
    }

    fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.flushes.is_empty()
    }
}

/// Starts the store's thread `role` (its name: `latchkey-sqlite-{role}`).
fn spawn_thread(role: &str, run: impl FnOnce() + Send + 'static) -> Result<()> {
    std::thread::Builder::new()
        .name(format!("latchkey-sqlite-{role}"))
        .spawn(run)
        .map(drop)
        .map_err(|error| StoreError::Backend(format!("cannot start the {role}: {error}")))
}

/// How long the checkpointer lets commits gather between two checkpoints: a page that several
/// of them changed is copied once.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// The checkpointer thread: after writes were committed (the writer tells of them on
/// `committed`), copies the log into the database file, at most once every
/// [`CHECKPOINT_EVERY`], until the writer ends. The copy and the database file's fsync were the
/// writer's own work when SQLite checkpointed at the commit that filled the log: a tenth of the
/// writer's time under group commit, and a pause of every write queued behind it, which set the
/// p99 of mints over HTTP (BENCHMARKS.md).
/// A passive checkpoint waits for no one: the writer goes on committing meanwhile, and readers
/// keep the frames they still read.
///
/// Flushes of use stamps do not wake it. A verify load stamps the same tokens every second:
/// the writer's own checkpoint at 64 MiB of log copies a stamped page once for two or three
/// flushes, where a checkpoint after each flush copied it at every one, and cost 6% of the
/// HTTP verifications a second (BENCHMARKS.md). Under writes and stamps together, the
/// checkpoints the writes wake copy the stamps' pages as well.
fn run_checkpointer(conn: &Connection, committed: &std_mpsc::Receiver<()>) {
    // Whether to checkpoint without waiting for a commit: one came during the last pause, or
    // the last checkpoint left part of the log behind (another connection was checkpointing,
    // or a reader still read frames it would have overwritten).
    let mut due = false;
    loop {
        if !due && committed.recv().is_err() {
            return;
        }
        due = !checkpoint(conn);
        // The pause lets commits gather; a writer that ends meanwhile ends this thread at once.
        let until = Instant::now() + CHECKPOINT_EVERY;
        loop {
            match committed.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(()) => due = true,
                Err(std_mpsc::RecvTimeoutError::Timeout) => break,
                Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

/// A passive checkpoint: copies what it can of the log into the database file, waiting for no
/// one. Whether it copied the whole log; a failure counts as done, so that it is tried again at
/// the next commit and not ten times a second.
fn checkpoint(conn: &Connection) -> bool {
    let outcome = conn
        .prepare_cached("PRAGMA wal_checkpoint(PASSIVE)")
        .and_then(|mut statement| {
            statement.query_row([], |row| {
                Ok((
                    row.get::<_, bool>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            })
        });
    match outcome {
        Ok((busy, log, copied)) => {
            tracing::trace!(busy, log, copied, "checkpoint");
            !busy && copied >= log
        }
        Err(error) => {
            tracing::warn!(%error, "could not checkpoint the log");
            true
        }
    }
}

/// The writer thread. Writes go first, up to [`GROUP_COMMIT`] in a transaction; after each
/// batch, and whenever no write waits, stamps follow, a flush in one transaction for as long
/// as no write is queued. A flush cut into transactions of [`STAMPS_A_STEP`] took a commit, an
/// fsync and a rewrite of every page it touched for each, which under a verify load was most
/// of the writer's work (BENCHMARKS.md).
fn run_writer(
    mut conn: Connection,
    queue: &std_mpsc::Receiver<Job>,
    commits: &std_mpsc::SyncSender<()>,
) {
    let mut optimized = Instant::now();
    let mut pending = Pending::default();
    loop {
        if pending.is_empty() {
            match queue.recv() {
                Ok(job) => pending.add(job),
                Err(_) => return,
            }
        }
        pending.take_queued(queue);
        if optimized.elapsed() > OPTIMIZE_EVERY {
            optimized = Instant::now();
            if let Err(error) = optimize(&conn) {
                tracing::warn!(%error, "could not refresh SQLite's statistics");
            }
        }
        if !pending.writes.is_empty() {
            let count = pending.writes.len().min(GROUP_COMMIT);
            let (mut writes, mut mints) = (Vec::new(), Vec::new());
            for queued in pending.writes.drain(..count) {
                match queued {
                    Queued::Write(write) => writes.push(write),
                    Queued::Mint(mint) => mints.push(*mint),
                }
            }
            write_batch(&mut conn, writes, mints);
            // One waiting word is enough: the checkpointer copies whatever the log holds then.
            let _ = commits.try_send(());
        }
        // At least one step of stamps after each batch, so that a steady stream of writes does
        // not hold them back for good.
        if !pending.flushes.is_empty() {
            write_stamps(&mut conn, &mut pending, queue);
        }
    }
}

/// Runs each write of `batch` in its own savepoint of one IMMEDIATE transaction, then stores
/// the `mints` together (see [`insert_mints`]), commits once, then answers them all. A failed
/// write or mint is answered with its own error, whatever the commit of the others does. Before
/// the commit it indexes the names of the tokens the batch stored (see
/// `0002_listing_indexes.sql`).
fn write_batch(conn: &mut Connection, mut batch: Vec<Write>, mut mints: Vec<Mint>) {
    // A caller that went away before its turn gets no token it could never have been shown.
    // (The server's calls run to their end whatever their client does: this is for callers
    // of the store that are dropped, such as a task cancelled at shutdown.)
    mints.retain(|mint| !mint.reply.is_closed());
    if batch.is_empty() && mints.is_empty() {
        return;
    }
    let mut replies = Vec::with_capacity(batch.len());
    let mut minted = Vec::new();
    // A savepoint makes SQLite copy every page a write changes before it changes it, so a
    // write alone in its transaction runs without one: its failure rolls back everything.
    let shared = batch.len() + mints.len() > 1;
    let committed = (|| -> Result<(), rusqlite::Error> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let last_token: i64 = tx
            .prepare_cached("SELECT coalesce(max(rowid), 0) FROM tokens")?
            .query_row([], |row| row.get(0))?;
        for write in batch.drain(..) {
            if shared {
                tx.execute_batch("SAVEPOINT write")?;
            }
            // A panicking write is undone like a failing one; its caller hears that the
            // write failed, and the writer goes on with the others.
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write(&tx)));
            let ok = matches!(&ran, Ok(ran) if ran.ok);
            replies.extend(ran.ok().map(|ran| ran.reply));
            match (shared, ok) {
                (true, true) => tx.execute_batch("RELEASE write")?,
                (true, false) => tx.execute_batch("ROLLBACK TO write; RELEASE write")?,
                // Dropping the transaction rolls it back.
                (false, false) => return Ok(()),
                (false, true) => {}
            }
        }
        minted = insert_mints(&tx, &mints)?;
        // New tokens take rowids above every earlier one (none is ever deleted).
        tx.prepare_cached(
            "INSERT INTO tokens_name_trigrams (name_folded, token_id)
             SELECT name_folded, id FROM tokens WHERE rowid > ?1",
        )?
        .execute([last_token])?;
        tx.commit()
    })();
    // Writes never reached (the transaction failed first) are answered too: dropping their
    // reply senders tells their callers the writer failed.
    drop(batch);
    let committed = committed.map_err(|error| error.to_string());
    for reply in replies {
        reply(committed.clone());
    }
    // Mints never reached (the transaction failed before them) are told why.
    minted.resize_with(mints.len(), || Ok(()));
    for (mint, outcome) in mints.into_iter().zip(minted) {
        let outcome = outcome.and_then(|()| committed.clone().map_err(StoreError::Backend));
        // A caller that stopped waiting has nobody to tell.
        let _ = mint.reply.send(outcome);
    }
}

/// Writes the first pending flush in one transaction, [`STAMPS_A_STEP`] at a time, until it
/// ends or a write is queued. A write waits for one step and the commit; a flush never waits
/// behind another in the same transaction, so a transaction holds one flush's pages at most.
fn write_stamps(conn: &mut Connection, pending: &mut Pending, queue: &std_mpsc::Receiver<Job>) {
    let committed = (|| -> Result<(), rusqlite::Error> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut update = tx.prepare_cached(
                "UPDATE tokens SET last_used_at = max(last_used_at, ?2) WHERE id = ?1",
            )?;
            while let Some(flush) = pending.flushes.front_mut() {
                let end = flush.stamps.len().min(flush.written + STAMPS_A_STEP);
                for (token, at) in &flush.stamps[flush.written..end] {
                    update.execute(params![id(*token), at.unix()])?;
                }
                flush.written = end;
                let finished = end == flush.stamps.len();
                pending.take_queued(queue);
                if finished || !pending.writes.is_empty() {
                    break;
                }
            }
        }
        tx.commit()
    })();
    let finished = pending
        .flushes
        .front()
        .is_some_and(|flush| flush.written == flush.stamps.len());
    let answer = match committed {
        Ok(()) if finished => Ok(()),
        Ok(()) => return,
        // What the transaction wrote is undone: the flush's caller hears of it and keeps its
        // stamps for a later flush (stamps never move a time back, so writing some twice
        // changes nothing), rather than the writer trying again at once.
        Err(error) => Err(StoreError::from(error)),
    };
    if let Some(flush) = pending.flushes.pop_front() {
        // A caller that stopped waiting has nobody to tell.
        let _ = flush.reply.send(answer);
    }
}

async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| StoreError::Backend(format!("database task failed: {error}")))?
}

/// About [`SAMPLED_NAMES`] stored names, read at random rowids: tokens are never deleted, so
/// their rowids run from one to about their number, and a sample of a million takes point
/// reads, not a walk of the table.
fn sample_names(conn: &Connection) -> Result<TrigramSample> {
    let stored: i64 = conn.query_row("SELECT coalesce(max(rowid), 0) FROM tokens", [], |row| {
        row.get(0)
    })?;
    let wanted = SAMPLED_NAMES as i64;
    let (sql, args) = if stored <= wanted {
        ("SELECT name_folded FROM tokens", vec![])
    } else {
        (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             SELECT name_folded FROM tokens WHERE rowid IN (SELECT 1 + abs(random() % ?2) FROM n)",
            vec![wanted, stored],
        )
    };
    let names = conn
        .prepare(sql)?
        .query_map(rusqlite::params_from_iter(args), |row| {
            row.get::<_, String>(0)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TrigramSample::new(
        names.iter().map(String::as_str),
        u64::try_from(stored).unwrap_or(0),
    ))
}

/// How often the writer refreshes the planner's statistics while it runs.
const OPTIMIZE_EVERY: std::time::Duration = std::time::Duration::from_secs(3_600);

/// Refreshes the statistics the query planner chooses indexes by, for the tables whose size
/// changed tenfold since they were last taken (about a second at a million tokens, so seldom).
/// Without them SQLite guesses, and picks the organization's index over a group's for a
/// million tokens of one organization. Sampled statistics (`analysis_limit`) guess as badly.
///
/// Only the per-index averages are kept: with the per-value samples (`sqlite_stat4`), SQLite
/// prepares a statement again whenever a bound value changes, which makes every verification
/// that misses the cache parse and plan its query anew (80 µs instead of 10).
fn optimize(conn: &Connection) -> Result<()> {
    conn.execute_batch("PRAGMA optimize = 0x10002;")?;
    let samples: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_schema WHERE name = 'sqlite_stat4'",
        [],
        |row| row.get(0),
    )?;
    if samples {
        conn.execute_batch("DELETE FROM sqlite_stat4; ANALYZE sqlite_schema;")?;
    }
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_with(conn, MIGRATIONS)
}

/// Runs the `migrations` the database has not run yet, each in a transaction of its own.
fn migrate_with(conn: &mut Connection, migrations: &[&str]) -> Result<()> {
    let done = migrations_run(conn)?;
    if done > migrations.len() {
        return Err(StoreError::Backend(format!(
            "the database has {done} migrations, this latchkey knows only {}: it is newer than this binary",
            migrations.len()
        )));
    }
    if done == migrations.len() {
        return Ok(());
    }
    // A migration may rebuild a table others refer to (SQLite changes a table's kind no other
    // way), which enforced foreign keys refuse midway. They are off while migrations run (the
    // pragma does nothing inside a transaction), and checked before each migration commits.
    conn.pragma_update(None, "foreign_keys", false)?;
    let migrated = run_migrations(conn, migrations, done);
    conn.pragma_update(None, "foreign_keys", true)?;
    migrated
}

fn run_migrations(conn: &mut Connection, migrations: &[&str], done: usize) -> Result<()> {
    // Rows that refer to a missing row before any migration runs are not a migration's doing
    // and do not stop one; a migration that leaves more than these is refused.
    let broken_before = broken_references(conn)?;
    for (index, sql) in migrations.iter().enumerate().skip(done) {
        // Another process opening the same file may have run this migration since `done` was
        // read: the version is read again under the write lock, and what ran is not run twice.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if migrations_run(&tx)? > index {
            continue;
        }
        tx.execute_batch(sql)
            .map_err(|error| migration_failed(index + 1, sql, &error))?;
        let broken = broken_references(&tx)?;
        if broken > broken_before {
            return Err(StoreError::Backend(format!(
                "migration {} would leave {} more rows referring to rows that do not exist; \
                 nothing of it was applied",
                index + 1,
                broken - broken_before
            )));
        }
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
        tracing::info!(migration = index + 1, "applied SQLite migration");
    }
    Ok(())
}

/// Why migration `number` (its text `sql`) failed and, for a statement SQLite refused to
/// prepare, at which line: rusqlite's own message for such a statement quotes the whole script
/// from that statement on. A statement that failed as it ran has no place to report.
fn migration_failed(number: usize, sql: &str, error: &rusqlite::Error) -> StoreError {
    let (message, line) = match error {
        // `rest` is the script from the refused statement on; `offset` is the byte within it.
        rusqlite::Error::SqlInputError {
            msg,
            sql: rest,
            offset,
            ..
        } => {
            let line = sql.ends_with(rest.as_str()).then(|| {
                let start = sql.len() - rest.len();
                let at = (start + usize::try_from(*offset).unwrap_or(0)).min(sql.len());
                1 + sql.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count()
            });
            (msg.clone(), line)
        }
        other => (other.to_string(), None),
    };
    let place = line
        .map(|line| format!(" at line {line}"))
        .unwrap_or_default();
    StoreError::Backend(format!(
        "migration {number} failed{place}: {message}; nothing of it was applied"
    ))
}

/// How many migrations the database has run, as `user_version` records.
fn migrations_run(conn: &Connection) -> Result<usize> {
    Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

/// How many rows refer (by a foreign key) to a row that does not exist.
fn broken_references(conn: &Connection) -> Result<u64> {
    Ok(
        conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
            row.get(0)
        })?,
    )
}

fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// Maps a unique-index violation to a conflict with `message`; any other error stays a failure.
fn conflict_on_unique(
    message: impl FnOnce() -> String,
) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |error| {
        if is_unique_violation(&error) {
            StoreError::Conflict(message())
        } else {
            error.into()
        }
    }
}

fn id(id: impl Into<Uuid>) -> Uuid {
    id.into()
}

/// Revokes every live token that `filter` (a WHERE clause over `tokens`) selects, returning the
/// hashes to evict.
fn revoke_where(
    tx: &Transaction<'_>,
    filter: &str,
    args: impl rusqlite::Params,
) -> Result<Evicted> {
    let sql = format!(
        "UPDATE tokens SET revoked_at = ?1 WHERE revoked_at IS NULL AND ({filter}) RETURNING hash"
    );
    let mut stmt = tx.prepare(&sql)?;
    let hashes = stmt
        .query_map(args, |row| row.get::<_, [u8; 32]>(0))?
        .map(|hash| hash.map(SecretHash))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(hashes)
}

fn view_by_id(conn: &Connection, token: TokenId) -> Result<Option<TokenView>> {
    let sql = format!("{} WHERE t.id = ?1", *TOKEN_VIEW);
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id(token)], token_view_from)
        .optional()?)
}

fn owner_count(tx: &Transaction<'_>, org: OrgId) -> Result<u64> {
    Ok(tx.query_row(
        "SELECT count(*) FROM memberships WHERE org_id = ?1 AND role = 'owner'",
        [id(org)],
        |row| row.get(0),
    )?)
}

fn current_role(tx: &Transaction<'_>, org: OrgId, account: AccountId) -> Result<Option<Role>> {
    tx.prepare_cached("SELECT role FROM memberships WHERE org_id = ?1 AND account_id = ?2")?
        .query_row([id(org), id(account)], |row| row.get::<_, String>(0))
        .optional()?
        .map(|role| {
            role.parse()
                .map_err(|e: latchkey_core::CoreError| StoreError::Backend(e.to_string()))
        })
        .transpose()
}

fn insert_org(tx: &Transaction<'_>, org: &Organization, owner: AccountId) -> Result<()> {
    tx.execute(
        "INSERT INTO organizations (id, slug, name, personal, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id(org.id), org.slug.as_str(), org.name, org.personal, org.created_at.unix()],
    )
    .map_err(conflict_on_unique(|| {
        format!("an organization with slug '{}' already exists", org.slug)
    }))?;
    tx.execute(
        "INSERT INTO memberships (org_id, account_id, role, created_at) VALUES (?1, ?2, 'owner', ?3)",
        params![id(org.id), id(owner), org.created_at.unix()],
    )?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn root_account(&self) -> Result<Option<Account>> {
        self.point_read(|conn| {
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.is_root = 1 AND a.deleted_at IS NULL");
            Ok(conn.query_row(&sql, [], account_from).optional()?)
        })
        .await
    }

    async fn create_account(
        &self,
        account: &Account,
        joins: Option<(OrgId, Role)>,
    ) -> Result<Organization> {
        let account = account.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO accounts (id, username, email, kind, is_root, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    id(account.id),
                    account.username.as_str(),
                    account.email.as_ref().map(|e| e.as_str()),
                    account.kind.as_str(),
                    account.is_root,
                    account.created_at.unix()
                ],
            )
            .map_err(conflict_on_unique(|| format!("the username '{}' is taken", account.username)))?;
            let personal = Organization {
                id: OrgId::new(),
                slug: account.username.clone(),
                name: account.username.to_string(),
                personal: true,
                created_at: account.created_at,
            };
            insert_org(tx, &personal, account.id).map_err(|error| match error {
                StoreError::Conflict(_) => StoreError::Conflict(format!(
                    "the username '{}' is taken by an organization",
                    account.username
                )),
                other => other,
            })?;
            if let Some((org, role)) = joins {
                let joined = tx.execute(
                    "INSERT INTO memberships (org_id, account_id, role, created_at)
                     SELECT id, ?2, ?3, ?4 FROM organizations WHERE id = ?1 AND deleted_at IS NULL",
                    params![id(org), id(account.id), role.as_str(), account.created_at.unix()],
                )?;
                if joined == 0 {
                    return Err(StoreError::NotFound("no such organization".to_owned()));
                }
            }
            Ok(personal)
        })
        .await
    }

    async fn account(&self, account: AccountId) -> Result<Option<Account>> {
        self.point_read(move |conn| {
            let sql = format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE id = ?1 AND deleted_at IS NULL"
            );
            Ok(conn
                .prepare_cached(&sql)?
                .query_row([id(account)], account_from)
                .optional()?)
        })
        .await
    }

    async fn account_by_username(&self, username: &Slug) -> Result<Option<Account>> {
        let username = username.to_string();
        self.point_read(move |conn| {
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE username = ?1 AND deleted_at IS NULL");
            Ok(conn.prepare_cached(&sql)?.query_row([username], account_from).optional()?)
        })
        .await
    }

    async fn accounts(&self) -> Result<Vec<Account>> {
        self.read(|conn| {
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE deleted_at IS NULL ORDER BY username");
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map([], account_from)?.collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn delete_account(&self, account: AccountId, now: Timestamp) -> Result<Evicted> {
        self.write(move |tx| {
            let changed = tx.execute(
                "UPDATE accounts SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
                params![id(account), now.unix()],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound("no such account".to_owned()));
            }
            let orphaned: Option<String> = tx
                .query_row(
                    "SELECT o.slug FROM organizations o JOIN memberships m ON m.org_id = o.id
                     WHERE m.account_id = ?1 AND m.role = 'owner' AND o.personal = 0
                       AND o.deleted_at IS NULL
                       AND (SELECT count(*) FROM memberships x
                            WHERE x.org_id = o.id AND x.role = 'owner') = 1
                     LIMIT 1",
                    [id(account)],
                    |row| row.get(0),
                )
                .optional()?;
            if let Some(slug) = orphaned {
                return Err(StoreError::Conflict(format!(
                    "the account is the last owner of organization '{slug}'; give it another owner or delete it first"
                )));
            }
            tx.execute(
                "UPDATE organizations SET deleted_at = ?2 WHERE personal = 1 AND deleted_at IS NULL
                   AND id IN (SELECT org_id FROM memberships WHERE account_id = ?1)",
                params![id(account), now.unix()],
            )?;
            tx.execute(
                "DELETE FROM memberships WHERE account_id = ?1",
                [id(account)],
            )?;
            revoke_where(tx, "owner_id = ?2", params![now.unix(), id(account)])
        })
        .await
    }

    async fn create_organization(&self, org: &Organization, owner: AccountId) -> Result<()> {
        let org = org.clone();
        self.write(move |tx| insert_org(tx, &org, owner)).await
    }

    async fn organization_by_slug(&self, slug: &Slug) -> Result<Option<Organization>> {
        let slug = slug.to_string();
        self.point_read(move |conn| {
            let sql = format!(
                "SELECT {ORG_COLUMNS} FROM organizations o WHERE slug = ?1 AND deleted_at IS NULL"
            );
            Ok(conn
                .prepare_cached(&sql)?
                .query_row([slug], org_from)
                .optional()?)
        })
        .await
    }

    async fn organization_and_role(
        &self,
        org: OrgKey,
        account: AccountId,
    ) -> Result<Option<(Organization, Option<Role>)>> {
        let (by, key): (_, Box<dyn rusqlite::ToSql + Send>) = match org {
            OrgKey::Id(org) => ("o.id", Box::new(id(org))),
            OrgKey::Slug(slug) => ("o.slug", Box::new(slug.to_string())),
        };
        self.point_read(move |conn| {
            let sql = format!(
                "SELECT {ORG_COLUMNS}, m.role FROM organizations o
                 LEFT JOIN memberships m ON m.org_id = o.id AND m.account_id = ?2
                 WHERE {by} = ?1 AND o.deleted_at IS NULL"
            );
            Ok(conn
                .prepare_cached(&sql)?
                .query_row(params![key, id(account)], |row| {
                    Ok((org_from(row)?, rows::role_opt_at(row, 5)?))
                })
                .optional()?)
        })
        .await
    }

    async fn organizations_of(&self, account: AccountId) -> Result<Vec<(Organization, Role)>> {
        self.read(move |conn| {
            let sql = format!(
                "SELECT {ORG_COLUMNS}, m.role FROM organizations o JOIN memberships m ON m.org_id = o.id
                 WHERE m.account_id = ?1 AND o.deleted_at IS NULL ORDER BY o.slug"
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt
                .query_map([id(account)], |row| {
                    Ok((org_from(row)?, rows::role_at(row, 5)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn organizations(&self) -> Result<Vec<Organization>> {
        self.read(|conn| {
            let sql = format!(
                "SELECT {ORG_COLUMNS} FROM organizations o WHERE deleted_at IS NULL ORDER BY slug"
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt
                .query_map([], org_from)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn rename_organization(&self, org: OrgId, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.write(move |tx| {
            let changed = tx.execute(
                "UPDATE organizations SET name = ?2 WHERE id = ?1 AND deleted_at IS NULL",
                params![id(org), name],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound("no such organization".to_owned()));
            }
            Ok(())
        })
        .await
    }

    async fn delete_organization(&self, org: OrgId, now: Timestamp) -> Result<Evicted> {
        self.write(move |tx| {
            let changed = tx.execute(
                "UPDATE organizations SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
                params![id(org), now.unix()],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound("no such organization".to_owned()));
            }
            tx.execute("DELETE FROM memberships WHERE org_id = ?1", [id(org)])?;
            tx.execute(
                "UPDATE groups SET deleted_at = ?2 WHERE org_id = ?1 AND deleted_at IS NULL",
                params![id(org), now.unix()],
            )?;
            revoke_where(tx, "org_id = ?2", params![now.unix(), id(org)])
        })
        .await
    }

    async fn membership(&self, org: OrgId, account: AccountId) -> Result<Option<Role>> {
        self.point_read(move |conn| {
            conn.prepare_cached(
                "SELECT role FROM memberships WHERE org_id = ?1 AND account_id = ?2",
            )?
            .query_row([id(org), id(account)], |row| rows::role_at(row, 0))
            .optional()
            .map_err(Into::into)
        })
        .await
    }

    async fn members(&self, org: OrgId) -> Result<Vec<Member>> {
        self.read(move |conn| {
            let sql = format!(
                "SELECT {ACCOUNT_COLUMNS}, m.role FROM accounts a JOIN memberships m ON m.account_id = a.id
                 WHERE m.org_id = ?1 AND a.deleted_at IS NULL ORDER BY a.username"
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt
                .query_map([id(org)], |row| {
                    Ok(Member { account: account_from(row)?, role: rows::role_at(row, 6)? })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn add_member(
        &self,
        org: OrgId,
        account: AccountId,
        role: Role,
        now: Timestamp,
    ) -> Result<()> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO memberships (org_id, account_id, role, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![id(org), id(account), role.as_str(), now.unix()],
            )
            .map_err(conflict_on_unique(|| "already a member of the organization".to_owned()))?;
            Ok(())
        })
        .await
    }

    async fn set_role(&self, org: OrgId, account: AccountId, role: Role) -> Result<()> {
        self.write(move |tx| {
            let current = current_role(tx, org, account)?
                .ok_or_else(|| StoreError::NotFound("not a member of the organization".to_owned()))?;
            if current == Role::Owner && role != Role::Owner && owner_count(tx, org)? <= 1 {
                return Err(StoreError::Conflict(
                    "the organization's last owner cannot step down; make another member owner first".to_owned(),
                ));
            }
            tx.execute(
                "UPDATE memberships SET role = ?3 WHERE org_id = ?1 AND account_id = ?2",
                params![id(org), id(account), role.as_str()],
            )?;
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
        self.write(move |tx| {
            let current = current_role(tx, org, account)?.ok_or_else(|| {
                StoreError::NotFound("not a member of the organization".to_owned())
            })?;
            if current == Role::Owner && owner_count(tx, org)? <= 1 {
                return Err(StoreError::Conflict(
                    "the organization's last owner cannot be removed".to_owned(),
                ));
            }
            tx.execute(
                "DELETE FROM memberships WHERE org_id = ?1 AND account_id = ?2",
                [id(org), id(account)],
            )?;
            revoke_where(
                tx,
                "org_id = ?2 AND owner_id = ?3",
                params![now.unix(), id(org), id(account)],
            )
        })
        .await
    }

    async fn create_group(&self, group: &Group) -> Result<()> {
        let group = group.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO groups (id, org_id, name, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    id(group.id),
                    id(group.org),
                    group.name.as_str(),
                    group.created_at.unix()
                ],
            )
            .map_err(conflict_on_unique(|| {
                format!("a group named '{}' already exists", group.name)
            }))?;
            Ok(())
        })
        .await
    }

    async fn group(&self, group: GroupId) -> Result<Option<Group>> {
        self.point_read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT id, org_id, name, created_at FROM groups WHERE id = ?1 AND deleted_at IS NULL")?
                .query_row([id(group)], group_from)
                .optional()?)
        })
        .await
    }

    async fn group_by_name(&self, org: OrgId, name: &Slug) -> Result<Option<Group>> {
        let name = name.to_string();
        self.point_read(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT id, org_id, name, created_at FROM groups WHERE org_id = ?1 AND name = ?2 AND deleted_at IS NULL",
                )?
                .query_row(params![id(org), name], group_from)
                .optional()?)
        })
        .await
    }

    async fn groups(&self, org: OrgId) -> Result<Vec<Group>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT id, org_id, name, created_at FROM groups WHERE org_id = ?1 AND deleted_at IS NULL ORDER BY name",
            )?;
            let rows = stmt.query_map([id(org)], group_from)?.collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn delete_group(&self, group: GroupId, now: Timestamp) -> Result<Evicted> {
        self.write(move |tx| {
            let changed = tx.execute(
                "UPDATE groups SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
                params![id(group), now.unix()],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound("no such group".to_owned()));
            }
            revoke_where(tx, "group_id = ?2", params![now.unix(), id(group)])
        })
        .await
    }

    async fn insert_token(&self, token: &Token, hash: SecretHash) -> Result<()> {
        let (reply, answered) = oneshot::channel();
        let mint = Mint {
            token: token.clone(),
            hash,
            reply,
        };
        self.send(Job::Mint(Box::new(mint)), answered).await
    }

    async fn insert_tokens(&self, tokens: Vec<(Token, SecretHash)>) -> Result<()> {
        self.write(move |tx| {
            tokens
                .iter()
                .try_for_each(|(token, hash)| insert_token(tx, token, *hash))
        })
        .await
    }

    async fn token(&self, token: TokenId) -> Result<Option<TokenView>> {
        self.point_read(move |conn| view_by_id(conn, token)).await
    }

    async fn live_token_by_name(
        &self,
        owner: AccountId,
        name: &TokenName,
    ) -> Result<Option<TokenView>> {
        let name = name.to_string();
        self.point_read(move |conn| {
            let sql = format!(
                "{} WHERE t.owner_id = ?1 AND t.name = ?2 AND t.revoked_at IS NULL",
                *TOKEN_VIEW
            );
            Ok(conn
                .prepare_cached(&sql)?
                .query_row(params![id(owner), name], token_view_from)
                .optional()?)
        })
        .await
    }

    async fn credential(&self, hash: SecretHash) -> Result<Option<TokenView>> {
        // Written once: this is the read of every verification that misses the cache.
        static SQL: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| format!("{} WHERE t.hash = ?1", *TOKEN_VIEW));
        self.point_read(move |conn| {
            Ok(conn
                .prepare_cached(&SQL)?
                .query_row([hash.0], token_view_from)
                .optional()?)
        })
        .await
    }

    async fn list_tokens(&self, query: &TokenQuery) -> Result<TokenPage> {
        let few_names = query
            .name_contains
            .as_ref()
            .map(|needle| self.few_names_hold(needle));
        let query = query.clone();
        let work = move |conn: &Connection| list_tokens(conn, &query);
        match few_names {
            None => self.read(work).await,
            // The trigram index finds each match in a step of its own, which SQLite neither
            // counts nor interrupts (and an FTS5 table interrupted inside one may fail the
            // next read of its connection): a name filter is never run within a budget. One
            // that holds a rare trigram reads few names, on the async thread: sent off it, a
            // rare name's page had a p99 of 3.0-3.9 ms at four connections, against 1.7-2.0 ms
            // on it (BENCHMARKS.md). Any other may read every name, off the async threads.
            Some(true) => self.point_read(work).await,
            Some(false) => self.read_off_thread(work).await,
        }
    }

    async fn revoke_token(
        &self,
        token: TokenId,
        now: Timestamp,
    ) -> Result<(TokenView, SecretHash)> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id(token), now.unix()],
            )?;
            let hash = tx
                .query_row(
                    "SELECT hash FROM tokens WHERE id = ?1",
                    [id(token)],
                    |row| row.get::<_, [u8; 32]>(0),
                )
                .optional()?
                .ok_or_else(|| StoreError::NotFound("no such token".to_owned()))?;
            let view = view_by_id(tx, token)?
                .ok_or_else(|| StoreError::NotFound("no such token".to_owned()))?;
            Ok((view, SecretHash(hash)))
        })
        .await
    }

    async fn rotate_token(
        &self,
        token: TokenId,
        hash: SecretHash,
        hint: &str,
    ) -> Result<(TokenView, SecretHash)> {
        let hint = hint.to_owned();
        self.write(move |tx| {
            let old = tx
                .query_row(
                    "SELECT hash FROM tokens WHERE id = ?1 AND revoked_at IS NULL",
                    [id(token)],
                    |row| row.get::<_, [u8; 32]>(0),
                )
                .optional()?
                .ok_or_else(|| StoreError::NotFound("no live token with that id".to_owned()))?;
            tx.execute(
                "UPDATE tokens SET hash = ?2, hint = ?3 WHERE id = ?1",
                params![id(token), hash.0, hint],
            )?;
            let view = view_by_id(tx, token)?
                .ok_or_else(|| StoreError::NotFound("no such token".to_owned()))?;
            Ok((view, SecretHash(old)))
        })
        .await
    }

    fn export(&self) -> Export {
        let store = self.clone();
        transfer::spawn_export(move |sender| async move {
            // Off the async threads: it waits for its receiver, and what it sent cannot be
            // sent again.
            store
                .read_off_thread(move |conn| export(conn, &sender))
                .await
        })
    }

    async fn import(&self, batch: Batch) -> Result<()> {
        batch.check()?;
        if batch.rows.is_empty() {
            return Ok(());
        }
        self.write(move |tx| {
            let mut insert =
                tx.prepare_cached(&transfer::insert_sql(batch.table, Dialect::Sqlite))?;
            for row in batch.rows {
                insert.execute(rusqlite::params_from_iter(row.into_iter().map(
                    |value| match value {
                        transfer::Value::Null => Value::Null,
                        transfer::Value::Id(id) => Value::Blob(id.as_bytes().to_vec()),
                        transfer::Value::Text(text) => Value::Text(text),
                        transfer::Value::Int(int) => Value::Integer(int),
                        transfer::Value::Bool(flag) => Value::Integer(i64::from(flag)),
                        transfer::Value::Bytes(bytes) => Value::Blob(bytes),
                    },
                )))?;
            }
            Ok(())
        })
        .await
    }

    async fn counts(&self) -> Result<Counts> {
        // Every table counted: long, wherever it runs.
        self.read_off_thread(|conn| {
            let counts = conn.query_row(&transfer::counts_sql(), [], |row| {
                (0..Table::ALL.len())
                    .map(|index| row.get::<_, i64>(index))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })?;
            transfer::counts_from(counts)
        })
        .await
    }

    async fn record_usage(&self, stamps: &[(TokenId, Timestamp)]) -> Result<()> {
        // The flusher calls every second, an idle server's too.
        if stamps.is_empty() {
            return Ok(());
        }
        let mut stamps = stamps.to_vec();
        // In key order, neighbouring stamps share the pages they change.
        stamps.sort_unstable();
        // The writer writes them between writes (see `run_writer`).
        let (reply, answered) = oneshot::channel();
        let flush = Flush {
            stamps,
            written: 0,
            reply,
        };
        self.send(Job::Flush(flush), answered).await
    }

    async fn fold_counters(&self, now: Timestamp) -> Result<()> {
        let (first_unfolded, folded) = (first_unfolded_day(now), FOLDED_DAY);
        loop {
            let moved = self
                .write(move |tx| {
                    // The same rows for both statements: the first FOLD_ROWS of the days to
                    // fold in the index's order (day, then organization), past the folded ones,
                    // which it holds first.
                    tx.prepare_cached(
                        "INSERT INTO token_expiry_counts (org_id, day, live)
                         SELECT org_id, ?2, sum(live) FROM (
                             SELECT org_id, live FROM token_expiry_counts
                             WHERE day > ?2 AND day < ?1 ORDER BY day, org_id LIMIT ?3
                         ) WHERE true GROUP BY org_id
                         ON CONFLICT (org_id, day) DO UPDATE SET live = live + excluded.live",
                    )?
                    .execute(params![first_unfolded, folded, FOLD_ROWS])?;
                    let moved = tx
                        .prepare_cached(
                            "DELETE FROM token_expiry_counts WHERE (org_id, day) IN (
                                 SELECT org_id, day FROM token_expiry_counts
                                 WHERE day > ?2 AND day < ?1 ORDER BY day, org_id LIMIT ?3
                             )",
                        )?
                        .execute(params![first_unfolded, folded, FOLD_ROWS])?;
                    Ok(moved)
                })
                .await?;
            // A step that moved fewer than it could found no more.
            if !i64::try_from(moved).is_ok_and(|moved| moved >= FOLD_ROWS) {
                return Ok(());
            }
        }
    }
}

/// Checks what a token needs before it is stored: its organization, its owner, the owner's
/// membership there, its group. The writer runs one transaction at a time, so what is checked
/// here still holds at commit.
fn check_token(tx: &Transaction<'_>, token: &Token) -> Result<()> {
    tx.prepare_cached("SELECT 1 FROM organizations WHERE id = ?1 AND deleted_at IS NULL")?
        .query_row([id(token.org)], |_| Ok(()))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(NO_ORG.to_owned()))?;
    let owner_is_root: bool = tx
        .prepare_cached("SELECT is_root FROM accounts WHERE id = ?1 AND deleted_at IS NULL")?
        .query_row([id(token.owner)], |row| row.get(0))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(NO_OWNER.to_owned()))?;
    if !owner_is_root && current_role(tx, token.org, token.owner)?.is_none() {
        return Err(StoreError::NotFound(NOT_A_MEMBER.to_owned()));
    }
    if let latchkey_core::Reach::Group(group) = token.reach {
        tx.prepare_cached(
            "SELECT 1 FROM groups WHERE id = ?1 AND org_id = ?2 AND deleted_at IS NULL",
        )?
        .query_row([id(group), id(token.org)], |_| Ok(()))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(NO_GROUP.to_owned()))?;
    }
    Ok(())
}

/// What a mint whose name its owner's live tokens hold is told.
fn name_taken(token: &Token) -> String {
    format!(
        "a live token named '{}' already exists for this account",
        token.name
    )
}

/// Checks and stores one token in a statement a table.
fn insert_token(tx: &Transaction<'_>, token: &Token, hash: SecretHash) -> Result<()> {
    check_token(tx, token)?;
    insert_rows(tx, &[(token, hash)]).map_err(conflict_on_unique(|| name_taken(token)))
}

/// Stores the mints of one commit and tells what became of each, in order; an error of the
/// transaction itself fails them all. Each is checked as [`insert_token`] does, and its name
/// among the batch's too (the first of two live tokens of one owner and name wins); those that
/// pass are stored together, a few statements a table (see [`ROW_CHUNKS`]). A statement keeps
/// a copy of each page it changes until it ends, to undo itself: with a statement a mint, the
/// pages every mint of the batch changes (the ends of the indexes in creation order, the
/// counters, the marks) were copied again for each, 17% of a mint's instructions, and the
/// batch stored together takes 27–30% fewer (BENCHMARKS.md). Should the rows be refused anyway
/// (by a rule the checks do not foresee, a secret's hash stored twice), the mints are stored
/// again one by one, in order, each in a savepoint of its own, so that a failure stays its own.
fn insert_mints(tx: &Transaction<'_>, mints: &[Mint]) -> rusqlite::Result<Vec<Result<()>>> {
    let mut outcomes: Vec<Result<()>> = mints
        .iter()
        .map(|mint| check_token(tx, &mint.token))
        .collect();
    let checked: Vec<usize> = (0..mints.len()).filter(|&i| outcomes[i].is_ok()).collect();
    let mut names = HashSet::new();
    for &i in &checked {
        let token = &mints[i].token;
        if token.revoked_at.is_none()
            && (!names.insert((token.owner, token.name.as_str())) || live_name(tx, token)?)
        {
            outcomes[i] = Err(StoreError::Conflict(name_taken(token)));
        }
    }
    let rows: Vec<_> = checked
        .iter()
        .filter(|&&i| outcomes[i].is_ok())
        .map(|&i| (&mints[i].token, mints[i].hash))
        .collect();
    if rows.is_empty() {
        return Ok(outcomes);
    }
    tx.execute_batch("SAVEPOINT mints")?;
    if insert_rows(tx, &rows).is_ok() {
        tx.execute_batch("RELEASE mints")?;
        return Ok(outcomes);
    }
    tx.execute_batch("ROLLBACK TO mints; RELEASE mints")?;
    // As if each came alone: a name goes to the first mint of it that is stored.
    for i in checked {
        let token = &mints[i].token;
        outcomes[i] = if token.revoked_at.is_none() && live_name(tx, token)? {
            Err(StoreError::Conflict(name_taken(token)))
        } else {
            tx.execute_batch("SAVEPOINT mint")?;
            let stored = insert_rows(tx, &[(token, mints[i].hash)]);
            tx.execute_batch(match stored {
                Ok(()) => "RELEASE mint",
                Err(_) => "ROLLBACK TO mint; RELEASE mint",
            })?;
            stored.map_err(conflict_on_unique(|| {
                "a token with this id or secret already exists".to_owned()
            }))
        };
    }
    Ok(outcomes)
}

/// Whether the owner of `token` holds a live token of its name.
fn live_name(tx: &Transaction<'_>, token: &Token) -> rusqlite::Result<bool> {
    Ok(tx
        .prepare_cached(
            "SELECT 1 FROM tokens WHERE owner_id = ?1 AND name = ?2 AND revoked_at IS NULL",
        )?
        .query_row(params![id(token.owner), token.name.as_str()], |_| Ok(()))
        .optional()?
        .is_some())
}

/// How many rows the statements that insert many hold, largest first: rows go in 64 at a
/// time, the rest in at most nine smaller statements (each copies again the pages it shares
/// with the others), and the writer keeps the eight (two tables) prepared.
const ROW_CHUNKS: [usize; 4] = [64, 16, 4, 1];

/// `rows` in chunks of [`ROW_CHUNKS`]' sizes, each with its size's place there.
fn row_chunks<T>(mut rows: &[T]) -> impl Iterator<Item = (usize, &[T])> {
    std::iter::from_fn(move || {
        let (place, &size) = ROW_CHUNKS
            .iter()
            .enumerate()
            .find(|(_, size)| **size <= rows.len())?;
        let (chunk, rest) = rows.split_at(size);
        rows = rest;
        Some((place, chunk))
    })
}

/// One `INSERT` for each of [`ROW_CHUNKS`]' sizes: `head`, then `VALUES` and that many rows
/// of `columns` parameters.
fn chunked_inserts(head: &str, columns: usize) -> Vec<String> {
    let row = format!("({})", vec!["?"; columns].join(", "));
    ROW_CHUNKS
        .iter()
        .map(|&rows| format!("{head} VALUES {}", vec![row.as_str(); rows].join(", ")))
        .collect()
}

const TOKEN_COLUMNS: usize = 16;
const SCOPE_COLUMNS: usize = 2;

static TOKEN_INSERTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    chunked_inserts(
        "INSERT INTO tokens (id, hash, hint, owner_id, created_by, org_id, account_wide, group_id,
                             name, scopes, token_type, created_at, expires_at, last_used_at,
                             revoked_at, name_folded)",
        TOKEN_COLUMNS,
    )
});

static SCOPE_INSERTS: LazyLock<Vec<String>> =
    LazyLock::new(|| chunked_inserts("INSERT INTO token_scopes (scope, token_id)", SCOPE_COLUMNS));

/// Inserts `rows` with `inserts` (from [`chunked_inserts`]): `bind` binds a row's `columns`
/// values to the statement's parameters from the one it is given (see [`bind_from`]).
fn insert_chunked<T>(
    tx: &Transaction<'_>,
    inserts: &[String],
    columns: usize,
    rows: &[T],
    bind: impl Fn(&mut Statement<'_>, usize, &T) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    for (place, chunk) in row_chunks(rows) {
        let mut insert = tx.prepare_cached(&inserts[place])?;
        for (row, value) in chunk.iter().enumerate() {
            bind(&mut insert, row * columns + 1, value)?;
        }
        insert.raw_execute()?;
    }
    Ok(())
}

/// Binds `values` to the parameters of `statement`, from the `first` (counted from 1) on.
fn bind_from(
    statement: &mut Statement<'_>,
    first: usize,
    values: &[&dyn ToSql],
) -> rusqlite::Result<()> {
    for (offset, value) in values.iter().enumerate() {
        statement.raw_bind_parameter(first + offset, value)?;
    }
    Ok(())
}

/// Inserts tokens and their scopes, unchecked, a few statements a table.
fn insert_rows(tx: &Transaction<'_>, rows: &[(&Token, SecretHash)]) -> rusqlite::Result<()> {
    insert_chunked(
        tx,
        &TOKEN_INSERTS,
        TOKEN_COLUMNS,
        rows,
        |insert, first, (token, hash)| {
            let (account_wide, group) = match token.reach {
                latchkey_core::Reach::Account => (true, None),
                latchkey_core::Reach::Organization => (false, None),
                latchkey_core::Reach::Group(group) => (false, Some(id(group))),
            };
            bind_from(
                insert,
                first,
                params![
                    id(token.id),
                    hash.0,
                    token.hint,
                    id(token.owner),
                    id(token.created_by),
                    id(token.org),
                    account_wide,
                    group,
                    token.name.as_str(),
                    token.scopes.to_stored(),
                    token.token_type.as_str(),
                    token.created_at.unix(),
                    token.expires_at.map_or(NEVER, Timestamp::unix),
                    token.last_used_at.map_or(UNUSED, Timestamp::unix),
                    token.revoked_at.map(Timestamp::unix),
                    token.name.as_str().to_lowercase(),
                ],
            )
        },
    )?;
    let scopes: Vec<(&str, Uuid)> = rows
        .iter()
        .flat_map(|(token, _)| {
            token
                .scopes
                .iter()
                .map(|scope| (scope.as_str(), id(token.id)))
        })
        .collect();
    insert_chunked(
        tx,
        &SCOPE_INSERTS,
        SCOPE_COLUMNS,
        &scopes,
        |insert, first, (scope, token)| bind_from(insert, first, params![scope, token]),
    )
}

/// Sends every table, batch by batch, from one read transaction (one snapshot of the file).
/// Stops early, without error, when nobody receives any more.
fn export(conn: &Connection, sender: &mpsc::Sender<Result<Batch>>) -> Result<()> {
    let tx = conn.unchecked_transaction()?;
    for table in Table::ALL {
        let columns = tx
            .prepare("SELECT name FROM pragma_table_info(?1)")?
            .query_map([table.name()], |row| row.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        transfer::check_columns(table, columns)?;
        let mut stmt = tx.prepare(&transfer::select_sql(table))?;
        let mut rows = stmt.query([])?;
        let mut batcher = Batcher::new(table);
        while let Some(row) = rows.next()? {
            if let Some(batch) = batcher.push(read_values(row, table)?)
                && sender.blocking_send(Ok(batch)).is_err()
            {
                return Ok(());
            }
        }
        if let Some(batch) = batcher.finish()
            && sender.blocking_send(Ok(batch)).is_err()
        {
            return Ok(());
        }
    }
    Ok(())
}

/// A row's values, by the kinds of its table's columns.
fn read_values(row: &rusqlite::Row<'_>, table: Table) -> rusqlite::Result<Vec<transfer::Value>> {
    use transfer::Value as V;
    table
        .columns()
        .iter()
        .enumerate()
        .map(|(index, (_, kind))| {
            Ok(match kind {
                Kind::Id => row.get::<_, Option<Uuid>>(index)?.map(V::Id),
                Kind::Text => row.get::<_, Option<String>>(index)?.map(V::Text),
                Kind::Int => row.get::<_, Option<i64>>(index)?.map(V::Int),
                Kind::Bool => row.get::<_, Option<bool>>(index)?.map(V::Bool),
                Kind::Bytes => row.get::<_, Option<Vec<u8>>>(index)?.map(V::Bytes),
            }
            .unwrap_or(V::Null))
        })
        .collect()
}

fn list_tokens(conn: &Connection, query: &TokenQuery) -> Result<TokenPage> {
    let listing = Listing::new(query, Dialect::Sqlite, None);
    // A page near the start and its count in one statement when they share what its `WITH`
    // finds (a name filter's matches): once for both. Otherwise two statements in a read
    // transaction, which cost no round trips here: side by side, status=active 109–142 µs a
    // page against 147–186 µs in one statement.
    if let Some(PageSql { sql, args, reused }) = listing
        .starts_with_a_search()
        .then(|| listing.counted_page_sql())
        .flatten()
    {
        let mut statement = conn.prepare_cached(&sql)?;
        let total_column = statement.column_count() - 1;
        let mut rows = statement.query(rusqlite::params_from_iter(values(&args)))?;
        let (mut tokens, mut total) = (Vec::new(), None);
        while let Some(row) = rows.next()? {
            total = Some(row.get::<_, u64>(total_column)?);
            // An empty page is one row of NULLs, there for the total.
            if row.get_ref(0)? != rusqlite::types::ValueRef::Null {
                tokens.push(token_view_from(row)?);
            }
        }
        drop(rows);
        if !reused {
            statement.discard();
        }
        let total = total.ok_or_else(|| {
            StoreError::Backend("a counted page came back without its count".to_owned())
        })?;
        return Ok(listing.page(query, tokens, Some(total)));
    }
    // The count and the page read one snapshot: a deep page is found from the total.
    let snapshot = conn.unchecked_transaction()?;
    let total = match listing.count() {
        Some((sql, args)) => Some(
            snapshot
                .prepare_cached(&sql)?
                .query_row(rusqlite::params_from_iter(values(args)), |row| {
                    row.get::<_, u64>(0)
                })?,
        ),
        None => None,
    };
    // A page deep inside a whole organization's list starts from the marks before it (see
    // migration 0007) rather than walking every token up to it.
    let mark = match total.and_then(|total| listing.mark_sql(total)) {
        Some((sql, args)) => snapshot
            .prepare_cached(&sql)?
            .query_row(rusqlite::params_from_iter(values(&args)), |row| {
                Ok(Mark {
                    first_id: Uuid::from_bytes(row.get(0)?),
                    before: row.get(1)?,
                })
            })
            .optional()?,
        None => None,
    };
    let tokens = match listing.page_sql(total, mark) {
        Some(page) => {
            let mut statement = snapshot.prepare_cached(&page.sql)?;
            let tokens = statement
                .query_map(
                    rusqlite::params_from_iter(values(&page.args)),
                    token_view_from,
                )?
                .collect::<Result<Vec<_>, _>>()?;
            // A deeper numbered page's statement carries its offset in its text: kept, one
            // such page after another would push the statements that do come back (the
            // credential read of every cache miss) out of the connection's small cache.
            if !page.reused {
                statement.discard();
            }
            tokens
        }
        None => Vec::new(),
    };
    snapshot.commit()?;
    Ok(listing.page(query, tokens, total))
}

fn values(args: &[Arg]) -> Vec<Value> {
    args.iter()
        .map(|arg| match arg {
            Arg::Int(value) => Value::Integer(*value),
            Arg::Text(value) => Value::Text(value.clone()),
            Arg::Id(id) => Value::Blob(id.as_bytes().to_vec()),
            Arg::Ids(_) => unreachable!("SQLite's listings find their names themselves"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::thread::{self, ThreadId};

    use super::*;

    /// Runs `sql` (one row, one integer) through [`SqliteStore::read`]; answers what it read
    /// and the threads each of its runs took place on.
    async fn read_counting(store: &SqliteStore, sql: &'static str) -> (i64, Vec<ThreadId>) {
        let runs = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&runs);
        let value = store
            .read(move |conn| {
                seen.lock().unwrap().push(thread::current().id());
                Ok(conn.query_row(sql, [], |row| row.get(0))?)
            })
            .await
            .unwrap();
        let runs = runs.lock().unwrap().clone();
        (value, runs)
    }

    /// A fold moves the counts of the days before yesterday into one row an organization,
    /// [`FOLD_ROWS`] a step, and leaves yesterday's and later days' as they were.
    #[tokio::test]
    async fn a_fold_leaves_one_count_an_organization_for_the_days_before_yesterday() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("latchkey.db")).unwrap();
        let now = Timestamp::from_unix(2_000_000_000);
        let today = now.unix() / 86_400;
        // Acme: one token a day from 25,000 days ago to the day after tomorrow, two and a
        // half steps to fold; beta: two days.
        let first = today - 25_000;
        store
            .write(move |tx| {
                tx.execute_batch(
                    "INSERT INTO organizations VALUES (X'0a', 'acme', 'Acme', 0, 1, NULL);
                     INSERT INTO organizations VALUES (X'0b', 'beta', 'Beta', 0, 1, NULL);",
                )?;
                tx.execute(
                    "WITH RECURSIVE d(day) AS (SELECT ?1 UNION ALL SELECT day + 1 FROM d
                                               WHERE day < ?2)
                     INSERT INTO token_expiry_counts SELECT X'0a', day, 1 FROM d",
                    params![first, today + 2],
                )?;
                tx.execute(
                    "INSERT INTO token_expiry_counts VALUES (X'0b', ?1, 2), (X'0b', ?2, 3)",
                    params![today - 3, today - 1],
                )?;
                Ok(())
            })
            .await
            .unwrap();

        store.fold_counters(now).await.unwrap();
        let counts = store
            .read(|conn| {
                let counts = conn
                    .prepare("SELECT hex(org_id), day, live FROM token_expiry_counts")?
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                    .collect::<rusqlite::Result<Vec<(String, i64, i64)>>>()?;
                Ok(counts)
            })
            .await
            .unwrap();
        let acme = |day, live| ("0A".to_owned(), day, live);
        let beta = |day, live| ("0B".to_owned(), day, live);
        assert_eq!(
            counts,
            [
                acme(FOLDED_DAY, today - 1 - first),
                acme(today - 1, 1),
                acme(today, 1),
                acme(today + 1, 1),
                acme(today + 2, 1),
                beta(FOLDED_DAY, 2),
                beta(today - 1, 3),
            ]
        );
    }

    /// Steps enough to pass any budget of a read on the async thread.
    const LONG: &str =
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
         SELECT count(*) FROM n";

    /// Whether every reader is out of any transaction and runs a long statement uninterrupted.
    fn readers_are_clean(store: &SqliteStore) -> bool {
        store.inner.readers.iter().all(|reader| {
            let conn = lock(reader);
            conn.is_autocommit()
                && conn.query_row(LONG, [], |row| row.get::<_, i64>(0)).ok() == Some(300_000)
        })
    }

    /// The stretches of each organization's marks, oldest first, after checking that each
    /// mark's place is the number of the organization's tokens before it, its count the
    /// number from it to the next, and that the first mark is the organization's first token.
    fn checked_stretches(conn: &Connection) -> Vec<(Vec<u8>, Vec<i64>)> {
        let wrong: i64 = conn
            .query_row(
                "WITH s AS (
                     SELECT org_id, first_id, before, tokens,
                            lead(first_id) OVER (PARTITION BY org_id ORDER BY first_id) AS next_id,
                            min(first_id) OVER (PARTITION BY org_id) AS first_mark
                     FROM token_marks)
                 SELECT count(*) FROM s
                 WHERE before != (SELECT count(*) FROM tokens t
                                  WHERE t.org_id = s.org_id AND t.id < s.first_id)
                    OR tokens != (SELECT count(*) FROM tokens t
                                  WHERE t.org_id = s.org_id AND t.id >= s.first_id
                                    AND (s.next_id IS NULL OR t.id < s.next_id))
                    OR (first_id = first_mark
                        AND first_id != (SELECT min(id) FROM tokens t WHERE t.org_id = s.org_id))",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(wrong, 0, "marks that miscount their stretch");
        let mut stretches: Vec<(Vec<u8>, Vec<i64>)> = Vec::new();
        let mut statement = conn
            .prepare("SELECT org_id, tokens FROM token_marks ORDER BY org_id, first_id")
            .unwrap();
        let mut rows = statement.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let (org, tokens): (Vec<u8>, i64) = (row.get(0).unwrap(), row.get(1).unwrap());
            match stretches.last_mut() {
                Some((last, counts)) if *last == org => counts.push(tokens),
                _ => stretches.push((org, vec![tokens])),
            }
        }
        stretches
    }

    /// Marks counted by the trigger token by token, ids in any order, and marks made by the
    /// migration from the tokens already there, both count every stretch right, and cut them
    /// to 500 tokens: the trigger once a stretch holds a thousand, the migration all but the
    /// last.
    #[test]
    fn token_marks_count_every_stretch_from_the_trigger_and_the_migration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.db");
        drop(SqliteStore::open(&path).unwrap());
        let conn = open_connection(&path, 2_048).unwrap();
        // Bare rows: organizations, and tokens without the accounts they name.
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        for org in 1..=3 {
            conn.execute(
                "INSERT INTO organizations VALUES (?1, hex(?1), 'o', 0, 0, NULL)",
                [[org; 16]],
            )
            .unwrap();
        }
        let insert = |org: u8, position: u32| {
            let mut id = [org; 16];
            id[12..].copy_from_slice(&position.to_be_bytes());
            conn.execute(
                "INSERT INTO tokens (id, hash, hint, owner_id, created_by, org_id, account_wide,
                                     name, name_folded, scopes, token_type, created_at,
                                     expires_at, last_used_at)
                 VALUES (?1, ?2, '', X'00', X'00', ?3, 0, hex(?1), hex(?1), '', 'read_write',
                         0, 0, 0)",
                params![id, [id, id].concat(), [org; 16]],
            )
            .unwrap();
        };
        conn.execute_batch("BEGIN").unwrap();
        // 7919 is prime to 2,345 and 10: every position once, out of order.
        for n in 0..2_345 {
            insert(1, n * 7919 % 2_345);
        }
        for n in 0..10 {
            insert(2, n * 7919 % 10);
        }
        // In id order: each stretch cut in two as it reaches a thousand.
        for n in 0..2_500 {
            insert(3, n);
        }
        conn.execute_batch("COMMIT").unwrap();
        let counted = checked_stretches(&conn);
        let totals: Vec<i64> = counted.iter().map(|(_, c)| c.iter().sum()).collect();
        assert_eq!(totals, [2_345, 10, 2_500]);
        assert_eq!(counted[2].1, [500; 5]);
        assert!(counted.iter().flat_map(|(_, c)| c).all(|&n| n < 1_000));

        conn.execute_batch(
            "DROP TRIGGER token_marks_mint; DROP TRIGGER token_marks_cut; DROP TABLE token_marks;
             DROP INDEX token_expiry_counts_day;
             PRAGMA user_version = 6;",
        )
        .unwrap();
        drop(SqliteStore::open(&path).unwrap());
        let migrated: Vec<Vec<i64>> = checked_stretches(&conn)
            .into_iter()
            .map(|(_, counts)| counts)
            .collect();
        assert_eq!(
            migrated,
            [vec![500, 500, 500, 500, 345], vec![10], vec![500; 5]]
        );
    }

    /// Every row of `table`, each column quoted, in key order.
    fn quoted_rows(conn: &Connection, table: &str) -> Vec<String> {
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_xinfo(?1) ORDER BY cid")
            .unwrap()
            .query_map([table], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let quoted: Vec<String> = columns.iter().map(|c| format!("quote({c})")).collect();
        let sql = format!(
            "SELECT {} FROM {table} ORDER BY id",
            quoted.join(" || ' ' || ")
        );
        conn.prepare(&sql)
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// The statement that created `table`, as the schema keeps it.
    fn table_sql(conn: &Connection, table: &str) -> String {
        conn.query_row(
            "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [table],
            |row| row.get(0),
        )
        .unwrap()
    }

    /// What `table` is made of: its columns (with types, defaults and keys), its CHECKs as
    /// written, its foreign keys and its indexes.
    fn shape(conn: &Connection, table: &str) -> Vec<String> {
        let query = |sql: &str| -> Vec<String> {
            conn.prepare(sql)
                .unwrap()
                .query_map([table], |row| row.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        // A key is never null: a table without rowids says so itself, one with rowids holds
        // none in practice (its ids are written by the store).
        let mut shape = query(
            "SELECT name || ' ' || type || ' ' || (\"notnull\" OR pk > 0) || ' '
                    || quote(dflt_value) || ' ' || pk
             FROM pragma_table_xinfo(?1) ORDER BY cid",
        );
        shape.extend(query(
            "SELECT \"table\" || ' ' || \"from\" || ' ' || quote(\"to\")
             FROM pragma_foreign_key_list(?1)",
        ));
        shape.extend(query(
            "SELECT sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?1
             AND sql IS NOT NULL ORDER BY name",
        ));
        // The definition from its column list on: the name is quoted once renamed.
        let created = table_sql(conn, table);
        let columns = &created[created.find('(').unwrap()..];
        shape.push(columns.trim_end_matches(" WITHOUT ROWID").to_owned());
        shape
    }

    /// Migration 8 rebuilds accounts, organizations and groups keyed by their ids: every row,
    /// column, constraint and index stays, a reference already broken does not stop it, and
    /// foreign keys hold again once it ran.
    #[test]
    fn parents_rebuilt_without_rowids_keep_their_rows_shape_and_references() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.db");
        let mut conn = open_connection(&path, 2_048).unwrap();
        for sql in &MIGRATIONS[..7] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(
            "PRAGMA user_version = 7;
             INSERT INTO accounts VALUES (X'01', 'ada', 'ada@example.com', 'human', 1, 1, NULL);
             INSERT INTO accounts VALUES (X'02', 'bob', NULL, 'service', 0, 2, 3);
             INSERT INTO organizations VALUES (X'0a', 'acme', 'Acme', 1, 4, 9);
             INSERT INTO memberships VALUES (X'0a', X'01', 'owner', 5);
             INSERT INTO groups VALUES (X'0b', X'0a', 'prod', 6, 10);
             INSERT INTO tokens (id, hash, hint, owner_id, created_by, org_id, account_wide,
                                 group_id, name, name_folded, scopes, token_type, created_at,
                                 expires_at, last_used_at)
             VALUES (X'0c', X'0d', 'h', X'01', X'01', X'0a', 0, X'0b', 'ci', 'ci', 'a',
                     'read_write', 7, 8, 0);
             PRAGMA foreign_keys = OFF;
             INSERT INTO memberships VALUES (X'0a', X'99', 'viewer', 11);
             PRAGMA foreign_keys = ON;",
        )
        .unwrap();
        let parents = ["accounts", "organizations", "groups"];
        let before: Vec<_> = parents
            .iter()
            .map(|t| (quoted_rows(&conn, t), shape(&conn, t)))
            .collect();

        migrate(&mut conn).unwrap();
        let after: Vec<_> = parents
            .iter()
            .map(|t| (quoted_rows(&conn, t), shape(&conn, t)))
            .collect();
        assert_eq!(after, before);
        for table in parents {
            let sql = table_sql(&conn, table);
            assert!(sql.ends_with("WITHOUT ROWID"), "{sql}");
        }
        assert_eq!(
            broken_references(&conn).unwrap(),
            1,
            "the membership of no one"
        );
        // Foreign keys are enforced again: a token of an account that does not exist is refused.
        let orphan = conn.execute(
            "INSERT INTO tokens (id, hash, hint, owner_id, created_by, org_id, account_wide,
                                 name, name_folded, scopes, token_type, created_at, expires_at,
                                 last_used_at)
             VALUES (X'0e', X'0f', 'h', X'09', X'09', X'0a', 0, 'x', 'x', 'a', 'read_write', 7, 8,
                     0)",
            [],
        );
        assert!(orphan.is_err(), "{orphan:?}");
    }

    /// Migrations another process ran since this one read the version are not run again.
    #[test]
    fn migrations_run_meanwhile_by_another_process_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open_connection(&dir.path().join("latchkey.db"), 2_048).unwrap();
        migrate(&mut conn).unwrap();
        // As if this process had read version 0 before another ran every migration.
        run_migrations(&mut conn, MIGRATIONS, 0).unwrap();
        assert_eq!(migrations_run(&conn).unwrap(), MIGRATIONS.len());
    }

    /// A migration that would leave rows referring to rows it removed is refused whole, and
    /// foreign keys are enforced again after it.
    #[test]
    fn a_migration_that_breaks_references_is_refused_and_undone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.db");
        let mut conn = open_connection(&path, 2_048).unwrap();
        migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts VALUES (X'01', 'ada', NULL, 'human', 0, 1, NULL);
             INSERT INTO organizations VALUES (X'0a', 'acme', 'Acme', 0, 2, NULL);
             INSERT INTO memberships VALUES (X'0a', X'01', 'owner', 3);",
        )
        .unwrap();
        let mut migrations = MIGRATIONS.to_vec();
        migrations.push("CREATE TABLE marker (x); DELETE FROM accounts;");

        let refused = migrate_with(&mut conn, &migrations);
        assert!(
            matches!(&refused, Err(StoreError::Backend(m))
                if m.contains(&format!("migration {}", MIGRATIONS.len() + 1))),
            "{refused:?}"
        );
        let kept: (u32, u32, bool) = conn
            .query_row(
                "SELECT (SELECT count(*) FROM accounts), user_version,
                        EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'marker')
                 FROM pragma_user_version",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .unwrap();
        assert_eq!(kept, (1, MIGRATIONS.len() as u32, false));
        let enforced: bool = conn
            .query_row("PRAGMA foreign_keys", [], |row| row.get(0))
            .unwrap();
        assert!(enforced);
    }

    /// A migration SQLite refuses names itself, the line and SQLite's reason, not its text, and
    /// leaves nothing of itself behind.
    #[test]
    fn a_failing_migration_names_its_line_and_is_undone() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open_connection(&dir.path().join("latchkey.db"), 2_048).unwrap();
        let mut migrations = MIGRATIONS.to_vec();
        migrations.push("CREATE TABLE marker (x);\n-- a comment\nSELECT nope FROM marker;");

        let refused = migrate_with(&mut conn, &migrations);
        let Err(StoreError::Backend(message)) = refused else {
            panic!("{refused:?}")
        };
        let number = MIGRATIONS.len() + 1;
        assert_eq!(
            message,
            format!(
                "migration {number} failed at line 3: no such column: nope; nothing of it was applied"
            )
        );
        let marker: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'marker')",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert!(!marker);
        assert_eq!(migrations_run(&conn).unwrap(), MIGRATIONS.len());
    }

    #[test]
    fn a_flush_gives_way_to_a_queued_write_after_one_step_and_is_answered_once_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.db");
        drop(SqliteStore::open(&path).unwrap());
        let mut conn = open_connection(&path, READER_CACHE_KIB).unwrap();
        let (queue, queued) = std_mpsc::channel();
        let (reply, mut answered) = oneshot::channel();
        let stamps = (0..3 * STAMPS_A_STEP)
            .map(|second| (TokenId::new(), Timestamp::from_unix(second as i64)))
            .collect();
        let mut pending = Pending::default();
        pending.add(Job::Flush(Flush {
            stamps,
            written: 0,
            reply,
        }));
        let write: Write = Box::new(|_| Ran {
            ok: true,
            reply: Box::new(|_| {}),
        });
        queue.send(Job::Write(write)).unwrap();

        write_stamps(&mut conn, &mut pending, &queued);
        assert_eq!(pending.flushes[0].written, STAMPS_A_STEP);
        assert_eq!(pending.writes.len(), 1, "the write is taken to go next");
        assert!(answered.try_recv().is_err(), "not answered before its end");

        // Nothing queued: the rest in one transaction, then the answer.
        pending.writes.clear();
        write_stamps(&mut conn, &mut pending, &queued);
        assert!(pending.is_empty());
        assert!(matches!(answered.try_recv(), Ok(Ok(()))));
    }

    /// A commit's mints go in 64, 16, 4 and 1 rows a statement, each with its scopes. When the
    /// rows are refused (two given one secret's hash), the mints go in one by one, in order: the
    /// second of the hash is refused alone, and the name it would have held goes to the next
    /// mint of that name, which the batch had refused for it.
    #[tokio::test]
    async fn a_commits_mints_go_in_together_or_one_by_one_when_refused() {
        use latchkey_core::{AccountKind, Reach, ScopeCatalog, Secret, SecretFormat, TokenType};

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.db");
        let store = SqliteStore::open(&path).unwrap();
        let owner = Account {
            id: AccountId::new(),
            username: "alice".parse().unwrap(),
            email: None,
            kind: AccountKind::Human,
            is_root: false,
            created_at: Timestamp::from_unix(1_700_000_000),
        };
        let org = store.create_account(&owner, None).await.unwrap();
        let scopes = ScopeCatalog::default()
            .parse(&["tokens:read", "tokens:write"])
            .unwrap();
        let mint = |name: &str| {
            let secret = Secret::generate(&SecretFormat::default());
            let token = Token {
                id: TokenId::new(),
                owner: owner.id,
                created_by: owner.id,
                org: org.id,
                reach: Reach::Organization,
                name: name.parse().unwrap(),
                scopes: scopes.clone(),
                token_type: TokenType::ReadWrite,
                hint: secret.hint(),
                created_at: Timestamp::from_unix(1_700_000_000),
                expires_at: None,
                last_used_at: None,
                revoked_at: None,
            };
            let (reply, answered) = oneshot::channel();
            let hash = secret.hash();
            (Mint { token, hash, reply }, answered)
        };
        let mut conn = open_connection(&path, WRITER_CACHE_KIB).unwrap();
        let count = |conn: &Connection, sql: &str| -> i64 {
            conn.query_row(sql, [], |row| row.get(0)).unwrap()
        };

        let (mints, answers): (Vec<_>, Vec<_>) =
            (0..85).map(|i| mint(&format!("batch {i}"))).unzip();
        write_batch(&mut conn, Vec::new(), mints);
        for answer in answers {
            assert!(matches!(answer.await, Ok(Ok(()))));
        }
        assert_eq!(count(&conn, "SELECT count(*) FROM tokens"), 85);
        assert_eq!(count(&conn, "SELECT count(*) FROM token_scopes"), 170);
        assert_eq!(
            count(&conn, "SELECT count(*) FROM tokens_name_trigrams"),
            85
        );

        let (mut mints, answers): (Vec<_>, Vec<_>) = ["first", "twin", "twin", "last"]
            .map(mint)
            .into_iter()
            .unzip();
        mints[1].hash = mints[0].hash;
        let (kept, refused) = (mints[2].token.id, mints[1].token.id);
        write_batch(&mut conn, Vec::new(), mints);
        let mut outcomes = Vec::new();
        for answer in answers {
            outcomes.push(answer.await.unwrap());
        }
        assert!(
            matches!(
                outcomes.as_slice(),
                [Ok(()), Err(StoreError::Conflict(_)), Ok(()), Ok(())]
            ),
            "{outcomes:?}"
        );
        assert_eq!(count(&conn, "SELECT count(*) FROM tokens"), 88);
        assert_eq!(count(&conn, "SELECT count(*) FROM token_scopes"), 176);
        let stored = |token: TokenId| {
            conn.query_row(
                "SELECT count(*) FROM tokens WHERE id = ?1",
                [id(token)],
                |row| row.get::<_, i64>(0),
            )
            .unwrap()
        };
        assert_eq!((stored(kept), stored(refused)), (1, 0));
    }

    /// A commit reaches the database file itself within moments, with the log far from full
    /// (the writer's own checkpoint waits for 64 MiB of it).
    #[tokio::test]
    async fn the_checkpointer_copies_commits_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.db");
        let store = SqliteStore::open(&path).unwrap();
        store
            .write(|tx| {
                Ok(tx.execute_batch("CREATE TABLE probe (x); INSERT INTO probe VALUES (7)")?)
            })
            .await
            .unwrap();
        // `immutable` reads the database file alone, without the log.
        let file = format!(
            "file:{}?immutable=1",
            path.display()
                .to_string()
                .replace('%', "%25")
                .replace('?', "%3f")
                .replace('#', "%23")
        );
        let in_file = || -> rusqlite::Result<i64> {
            let flags =
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI;
            Connection::open_with_flags(&file, flags)?
                .query_row("SELECT x FROM probe", [], |row| row.get(0))
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        // The checkpointer may be writing the file as it is read: a failed read is tried again.
        while in_file().ok() != Some(7) {
            assert!(
                Instant::now() < deadline,
                "the commit never reached the database file"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_read_runs_here_within_its_budget_and_again_off_the_async_thread_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("latchkey.db")).unwrap();
        let here = thread::current().id();

        let (value, runs) = read_counting(&store, "SELECT 7").await;
        assert_eq!((value, runs), (7, vec![here]));
        // Some thousands of steps, well within the budget.
        let (value, runs) = read_counting(
            &store,
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
             SELECT count(*) FROM n",
        )
        .await;
        assert_eq!((value, runs), (1_000, vec![here]));

        // Millions of steps: interrupted here and run again elsewhere, where no budget is left
        // behind to interrupt it.
        let (value, runs) = read_counting(&store, LONG).await;
        assert_eq!(value, 300_000);
        assert_eq!(runs.len(), 2, "{runs:?}");
        assert_eq!(runs[0], here);
        assert_ne!(runs[1], here);
        assert!(readers_are_clean(&store));

        // Interrupted inside a read transaction: the reader is left out of it.
        let value = store
            .read(|conn| {
                let snapshot = conn.unchecked_transaction()?;
                let value: i64 = snapshot.query_row(LONG, [], |row| row.get(0))?;
                snapshot.commit()?;
                Ok(value)
            })
            .await
            .unwrap();
        assert_eq!(value, 300_000);
        assert!(readers_are_clean(&store));
    }

    /// The sample taken at opening tells a needle holding a rare trigram, whose name filter
    /// runs on the async thread, from one every name holds, whose filter goes off it.
    #[tokio::test(flavor = "current_thread")]
    async fn the_sample_of_names_tells_a_rare_needle_from_a_common_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.db");
        assert!(
            SqliteStore::open(&path).unwrap().few_names_hold("deploy"),
            "an empty store reads few names whatever the needle"
        );
        // Rows of no real organization or owner, on a connection that checks no references.
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40000)
                 INSERT INTO tokens (id, hash, hint, owner_id, created_by, org_id, account_wide,
                     name, name_folded, scopes, token_type, created_at, expires_at, last_used_at)
                 SELECT randomblob(16), randomblob(32), '', x'01', x'01', x'02', 0,
                     'Deploy ' || i, 'deploy ' || i, '', 'read_write', i, 0, 0 FROM n",
            )
            .unwrap();
        let store = SqliteStore::open(&path).unwrap();
        assert!(store.few_names_hold("DEPLOY 31337"));
        assert!(!store.few_names_hold("deploy"));
        assert!(
            !store.few_names_hold("oy 3"),
            "no trigram of letters or digits to tell by"
        );
    }
}
