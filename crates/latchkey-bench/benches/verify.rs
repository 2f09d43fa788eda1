//! The hot path, piece by piece, each beside its floor: a secret's format check, its SHA-256,
//! the floor of an in-process verify (one SHA-256 and one lookup in a cache as full), the
//! verify itself with every token of the store cached, and a verify that misses the cache and
//! reads SQLite beside its floor (one indexed point read).
//!
//! `LATCHKEY_BENCH_TOKENS` sets the store's size (a million by default); the seeded file is
//! kept under `target/latchkey-bench` for the next run.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use futures_util::FutureExt as _;
use latchkey_bench::{bench_dir, bench_tokens};
use latchkey_core::{Clock as _, ScopeCatalog, SecretFormat, SecretHash, SystemClock, secret};
use latchkey_server::service::Service;
use latchkey_server::verify::table::SecretTable;
use latchkey_server::verify::{CacheConfig, Verifier};
use latchkey_store::SqliteStore;

/// The server's allocator, which decides where the cached entries lie in memory.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Resident anonymous memory of this process (the heap, not the mapped database), in bytes.
fn resident_heap() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("RssAnon:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    kib * 1024
}

fn verify(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let (path, seeded) = runtime
        .block_on(latchkey_bench::cached_sqlite(&bench_dir(), bench_tokens()))
        .expect("a seeded store");
    let format = SecretFormat::default();
    let every: Vec<&String> = seeded.secrets.iter().chain(&seeded.rest).collect();
    let live = &seeded.secrets;
    let one = live[0].as_str();

    let mut pieces = c.benchmark_group("secret");
    pieces.bench_function("check format and checksum", |b| {
        b.iter(|| secret::check(&format, black_box(one)))
    });
    pieces.bench_function("sha256", |b| b.iter(|| SecretHash::of(black_box(one))));
    pieces.finish();

    // The floor: what no verify can do without, in a table of the verifier's kind as full as
    // its own.
    let floor_table = SecretTable::new(every.len());
    for secret in &every {
        floor_table.insert(Arc::new(SecretHash::of(secret)));
    }

    let store = Arc::new(SqliteStore::open(&path).expect("the seeded store"));
    // Measured from before the verifier, whose table is made with it.
    let before = resident_heap();
    let verifier = Arc::new(Verifier::new(
        store.clone(),
        format.clone(),
        CacheConfig {
            capacity: every.len(),
            positive_ttl: Duration::from_secs(3_600),
            ..CacheConfig::default()
        },
    ));
    let service = Service::new(
        store,
        Arc::new(SystemClock),
        ScopeCatalog::default(),
        Arc::clone(&verifier),
    );
    // Filled through the verifier itself, which records no use: what grows is the cache.
    let now = SystemClock.now();
    for secret in &every {
        runtime
            .block_on(verifier.lookup(secret, now))
            .expect("a lookup")
            .expect("a seeded token");
    }
    let grown = resident_heap().saturating_sub(before);
    eprintln!(
        "verification cache: {} tokens, resident memory grew by {} MiB, {} bytes a token",
        every.len(),
        grown >> 20,
        grown / every.len().max(1) as u64
    );

    let mut hot = c.benchmark_group("verify");
    let mut next = live.iter().cycle();
    hot.bench_function(
        format!("floor: sha256 + cache lookup, {} cached", every.len()),
        |b| b.iter(|| floor_table.get(&SecretHash::of(next.next().expect("cycles")))),
    );
    // Every second, on the other core, the stamps are taken as the server's flusher takes
    // them (writing them is the store's part, measured with the mints): without it they
    // would pile up in memory as no server lets them.
    let flushing = AtomicBool::new(true);
    std::thread::scope(|threads| {
        threads.spawn(|| {
            while flushing.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(1));
                drop(verifier.take_stamps());
            }
        });
        let mut next = live.iter().cycle();
        hot.bench_function(format!("in-process hit, {} cached", every.len()), |b| {
            b.iter(|| {
                // A hit never waits: the future is ready at its first poll.
                service
                    .verify(next.next().expect("cycles"), &[], None)
                    .now_or_never()
                    .expect("a hit completes at once")
                    .expect("a verification")
            })
        });
        flushing.store(false, Ordering::Relaxed);
    });

    // A miss: the secret's entry is evicted first (a revocation elsewhere does as much), so
    // the verify reads SQLite and caches the answer again. The eviction is set-up, not timed.
    let mut next = live.iter().cycle();
    hot.bench_function("miss, read from SQLite", |b| {
        b.iter_batched(
            || {
                let secret = next.next().expect("cycles");
                verifier.evict(&[SecretHash::of(secret)]);
                secret
            },
            |secret| {
                service
                    .verify(secret, &[], None)
                    .now_or_never()
                    .expect("a free reader answers on this thread")
                    .expect("a verification")
            },
            BatchSize::SmallInput,
        )
    });
    let conn = rusqlite::Connection::open(&path).expect("the seeded file");
    conn.execute_batch("PRAGMA mmap_size = 17179869184")
        .expect("a memory map");
    let mut point = conn
        .prepare("SELECT id FROM tokens WHERE hash = ?1")
        .expect("a statement");
    let mut next = live.iter().cycle();
    hot.bench_function("floor: one indexed point read (SQLite)", |b| {
        b.iter(|| {
            let hash = SecretHash::of(next.next().expect("cycles"));
            point
                .query_row([hash.0], |row| row.get::<_, Vec<u8>>(0))
                .expect("a row")
        })
    });
    hot.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
