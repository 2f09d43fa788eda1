//! The store at a million tokens: list pages with and without filters, and durable mints one
//! at a time and many at once (group commit), beside the floor of a durable write (one fsync).
//!
//! `LATCHKEY_BENCH_TOKENS` sets the store's size (a million by default); the seeded file is
//! kept under `target/latchkey-bench` for the next run, and the mints write to a copy of it.

use std::io::Write as _;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use latchkey_bench::{Seeded, bench_dir, bench_tokens};
use latchkey_core::{Account, Organization, Secret, SecretFormat, Slug, TokenStatus};
use latchkey_store::{Cursor, CursorKey, PageRequest, SqliteStore, Store, TokenQuery};

/// The server's allocator: the writer's mints allocate as the server's do.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn uuid_bytes(id: uuid::Uuid) -> Vec<u8> {
    id.as_bytes().to_vec()
}

/// The organization every seeded token is in, and the member the owner filter asks for.
async fn seeded_org_and_member(store: &SqliteStore, seeded: &Seeded) -> (Organization, Account) {
    let org = store
        .organization_by_slug(&slug(latchkey_bench::ORG))
        .await
        .expect("a read")
        .expect("the organization");
    let member = store
        .account_by_username(&slug(&seeded.member))
        .await
        .expect("a read")
        .expect("a member");
    (org, member)
}

fn slug(text: &str) -> Slug {
    text.parse().expect("a slug")
}

fn list(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let (path, seeded) = runtime
        .block_on(latchkey_bench::cached_sqlite(&bench_dir(), bench_tokens()))
        .expect("a seeded store");
    let store = SqliteStore::open(&path).expect("the seeded store");
    let (org, member) = runtime.block_on(seeded_org_and_member(&store, &seeded));
    let group = runtime
        .block_on(store.group_by_name(org.id, &slug(latchkey_bench::GROUP)))
        .expect("a read")
        .expect("the group");

    let base = |page: PageRequest| {
        let mut query = TokenQuery::new(latchkey_bench::now());
        query.org = Some(org.id);
        query.page = page;
        query
    };
    let numbered = |page| PageRequest::Numbered { page, per_page: 25 };
    let last = u32::try_from(seeded.tokens.div_ceil(25)).expect("pages fit");
    // A cursor from the middle of the list: where a keyset walk is halfway through.
    let middle = runtime
        .block_on(store.list_tokens(&base(numbered(last / 2))))
        .expect("a page")
        .tokens[0]
        .token
        .id;
    let mut cases: Vec<(&str, TokenQuery)> = vec![
        ("first page", base(numbered(1))),
        ("page 40 (offset 975)", base(numbered(40))),
        ("middle page", base(numbered(last / 2))),
        ("last page", base(numbered(last))),
        (
            "cursor page, halfway",
            base(PageRequest::After {
                cursor: Some(Cursor {
                    sort: Default::default(),
                    key: CursorKey::None,
                    id: middle,
                }),
                limit: 25,
            }),
        ),
    ];
    let filtered = |label, change: &dyn Fn(&mut TokenQuery)| {
        let mut query = base(numbered(1));
        change(&mut query);
        (label, query)
    };
    cases.extend([
        filtered("status=active", &|q| q.status = Some(TokenStatus::Active)),
        filtered("status=revoked", &|q| q.status = Some(TokenStatus::Revoked)),
        filtered("name=deploy (1 in 8)", &|q| {
            q.name_contains = Some("deploy".to_owned())
        }),
        filtered("name=laptop 4242 (a few)", &|q| {
            q.name_contains = Some("laptop 4242".to_owned())
        }),
        filtered("owner", &|q| q.owner = Some(member.id)),
        filtered("group", &|q| q.group = Some(group.id)),
        filtered("scope=tokens:write", &|q| {
            q.scope = Some("tokens:write".to_owned())
        }),
        filtered("sort=-expires_at", &|q| {
            q.sort = "-expires_at".parse().expect("a sort")
        }),
        filtered("owner + status=active + sort=name", &|q| {
            q.owner = Some(member.id);
            q.status = Some(TokenStatus::Active);
            q.sort = "name".parse().expect("a sort");
        }),
    ]);

    let mut group_bench = c.benchmark_group(format!("list {} tokens (SQLite)", seeded.tokens));
    // Some pages take most of a second at a million tokens: ten samples tell them apart.
    group_bench.sample_size(10);
    // The floor: the ids of one page found by a seek in the organization's index, nothing more.
    let conn = rusqlite::Connection::open(&path).expect("the seeded file");
    let mut seek = conn
        .prepare("SELECT id FROM tokens WHERE org_id = ?1 AND id > ?2 ORDER BY id LIMIT 26")
        .expect("a statement");
    let org_id = uuid_bytes(org.id.into());
    let from = uuid_bytes(middle.into());
    group_bench.bench_function("floor: keyset index seek (26 ids)", |b| {
        b.iter(|| {
            seek.query_map([&org_id, &from], |row| row.get::<_, Vec<u8>>(0))
                .expect("a query")
                .count()
        })
    });
    for (label, query) in &cases {
        group_bench.bench_function(*label, |b| {
            b.iter(|| runtime.block_on(store.list_tokens(query)).expect("a page"))
        });
    }
    group_bench.finish();
}

fn mint(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let (path, seeded) = runtime
        .block_on(latchkey_bench::cached_sqlite(&bench_dir(), bench_tokens()))
        .expect("a seeded store");
    // Mints change the store: they go to a copy, so the next run starts from the same one.
    let dir = tempfile::tempdir_in(bench_dir()).expect("a scratch folder");
    let copy = dir.path().join("mint.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("the seeded file");
        conn.execute_batch(&format!("VACUUM INTO '{}'", copy.display()))
            .expect("a copy");
    }
    let store = SqliteStore::open(&copy).expect("the copy");
    let (org, member) = runtime.block_on(seeded_org_and_member(&store, &seeded));
    let format = SecretFormat::default();
    let mut serial = 0_u64;
    let mut next = || {
        serial += 1;
        let secret = Secret::generate(&format);
        let token = latchkey_bench::token(
            member.id,
            org.id,
            &format!("bench mint {serial}"),
            &secret,
            latchkey_bench::now(),
        );
        (token, secret.hash())
    };

    let mut writes =
        c.benchmark_group(format!("durable writes, {} tokens (SQLite)", seeded.tokens));
    writes.sample_size(20);
    let scratch = dir.path().join("fsync");
    let mut file = std::fs::File::create(&scratch).expect("a scratch file");
    let page = [7_u8; 4096];
    writes.bench_function("floor: write 4 KiB + fdatasync", |b| {
        b.iter(|| {
            file.write_all(&page).expect("a write");
            file.sync_data().expect("an fsync");
        })
    });
    writes.bench_function("mint, one at a time", |b| {
        b.iter(|| {
            let (token, hash) = next();
            runtime
                .block_on(store.insert_token(&token, hash))
                .expect("a mint")
        })
    });
    const AT_ONCE: u64 = 256;
    writes.bench_function(format!("mint, {AT_ONCE} at once (per mint)"), |b| {
        b.iter_custom(|iterations| {
            // Criterion's profiling mode asks for as many as fit in the time its warm-up left:
            // none when one round outlasted it (under callgrind, on a slow machine).
            if iterations == 0 {
                return Duration::ZERO;
            }
            let mut spent = Duration::ZERO;
            let rounds = iterations.div_ceil(AT_ONCE);
            for _ in 0..rounds {
                let batch: Vec<_> = (0..AT_ONCE).map(|_| next()).collect();
                let started = Instant::now();
                runtime.block_on(async {
                    let all = futures_util::future::join_all(
                        batch
                            .iter()
                            .map(|(token, hash)| store.insert_token(token, *hash)),
                    )
                    .await;
                    all.into_iter()
                        .collect::<Result<Vec<_>, _>>()
                        .expect("mints")
                });
                spent += started.elapsed();
            }
            spent.mul_f64(iterations as f64 / (rounds * AT_ONCE) as f64)
        })
    });
    writes.finish();
}

criterion_group!(benches, list, mint);
criterion_main!(benches);
