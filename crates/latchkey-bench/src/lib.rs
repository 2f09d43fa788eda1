//! Stores of a million tokens, made quickly, for the benchmarks: the criterion benches and the
//! load script (`bench/run`) both start from [`seed`].
//!
//! The layout is one platform's worst case: every token in one team organization, spread over
//! its members, so that each organization-wide listing spans the whole store. Names mix a few
//! words with a number (the name filter then matches one token in eight), some tokens are
//! pinned to a group, and the mix of scopes, expiries, uses and revocations gives every filter
//! and sort something to choose from.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use futures_util::StreamExt as _;
use latchkey_core::{
    Account, AccountId, AccountKind, Clock, Group, GroupId, OrgId, Organization, Reach, Role,
    Scopes, Secret, SecretFormat, Slug, SystemClock, Timestamp, Token, TokenId, TokenType,
};
use latchkey_store::{SqliteStore, Store, StoreError};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde::{Deserialize, Serialize};

/// The team organization every seeded token belongs to.
pub const ORG: &str = "acme";
/// The group a hundredth of the tokens are pinned to.
pub const GROUP: &str = "prod";
/// The words token names are made of; the name filter benches look for one of them.
pub const WORDS: [&str; 8] = [
    "deploy", "laptop", "backup", "metrics", "billing", "staging", "mobile", "runner",
];
/// Tokens written in one transaction: each index page a chunk changes is written once for
/// the whole chunk, so a million tokens load in a fraction of what a million commits take.
const CHUNK: usize = 50_000;
/// Accounts created at once: enough to fill a group commit and the PostgreSQL pool.
const IN_FLIGHT: usize = 256;

/// What to seed.
#[derive(Clone, Debug)]
pub struct Plan {
    pub tokens: usize,
    /// Accounts that own the tokens, all members of [`ORG`].
    pub members: usize,
    /// Live, unexpired secrets to hand back, for verification to ask about.
    pub sample: usize,
    /// Hand back every other secret too (revoked, expired, past the sample), to fill a cache
    /// with every token.
    pub keep_rest: bool,
    /// The root token's secret.
    pub root: Secret,
}

/// What a seeded store holds that a benchmark needs: secrets are shown once, so they are kept
/// here.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Seeded {
    pub tokens: usize,
    pub root: String,
    /// Secrets of live tokens that do not expire before the benchmark ends.
    pub secrets: Vec<String>,
    /// Every other secret, when the plan keeps them.
    #[serde(default)]
    pub rest: Vec<String>,
    /// The username of one member, for the owner filter.
    pub member: String,
}

/// Fills an empty store after `plan`, reporting progress on standard error. Tokens go through
/// the store's own bulk insert, which checks each as a mint does, so that what is measured
/// later is a store as latchkey itself writes it.
pub async fn seed(store: &dyn Store, plan: &Plan) -> Result<Seeded, String> {
    let fail = |error: StoreError| error.to_string();
    let clock = SystemClock;
    let now = clock.now();
    let format = SecretFormat::default();
    latchkey_server::bootstrap(store, &clock, &format, Some(plan.root.clone()), None)
        .await
        .map_err(|error| error.to_string())?
        .ok_or("the store already has a root account: seed an empty one")?;
    let root = store
        .root_account()
        .await
        .map_err(fail)?
        .ok_or("no root account after bootstrap")?;

    let org = Organization {
        id: OrgId::new(),
        slug: slug(ORG),
        name: "Acme".to_owned(),
        personal: false,
        created_at: now,
    };
    store
        .create_organization(&org, root.id)
        .await
        .map_err(fail)?;
    let group = Group {
        id: GroupId::new(),
        org: org.id,
        name: slug(GROUP),
        created_at: now,
    };
    store.create_group(&group).await.map_err(fail)?;

    let members: Vec<Account> = (0..plan.members.max(1))
        .map(|i| Account {
            id: AccountId::new(),
            username: slug(&format!("member-{i}")),
            email: format!("member-{i}@example.com").parse().ok(),
            kind: AccountKind::Human,
            is_root: false,
            created_at: now,
        })
        .collect();
    let joined = futures_util::stream::iter(&members)
        .map(|account| store.create_account(account, Some((org.id, Role::Member))))
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<_>>()
        .await;
    joined
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(fail)?;

    let scope_sets: Vec<Scopes> = [
        &["tokens:read"][..],
        &["tokens:read", "tokens:write"],
        &["read"],
        &[
            "tokens:read",
            "tokens:write",
            "tokens:revoke",
            "tokens:rotate",
        ],
    ]
    .iter()
    .map(|names| {
        latchkey_core::ScopeCatalog::default()
            .parse(names)
            .expect("catalog scopes")
    })
    .collect();

    let mut rng = StdRng::seed_from_u64(0x1a7c4);
    let mut secrets = Vec::with_capacity(plan.sample);
    let mut rest = Vec::new();
    let mut minted = Vec::with_capacity(CHUNK);
    let mut written = 0;
    for i in 0..plan.tokens {
        let owner = &members[i % members.len()];
        let secret = Secret::generate(&format);
        let revoked = rng.random_ratio(1, 20);
        let expires_at = match rng.random_range(0..20) {
            0 => Some(now.plus_seconds(-rng.random_range(60..86_400 * 90))),
            1..=4 => None,
            _ => Some(now.plus_seconds(rng.random_range(86_400 * 7..86_400 * 365))),
        };
        let live = !revoked && expires_at.is_none_or(|at| at > now.plus_seconds(86_400));
        let token = Token {
            reach: if i % 100 == 0 {
                Reach::Group(group.id)
            } else {
                Reach::Organization
            },
            scopes: scope_sets[i % scope_sets.len()].clone(),
            expires_at,
            last_used_at: rng
                .random_bool(0.5)
                .then(|| now.plus_seconds(-rng.random_range(0..86_400 * 30))),
            revoked_at: revoked.then_some(now),
            ..token(
                owner.id,
                org.id,
                &format!("{} {i}", WORDS[i % WORDS.len()]),
                &secret,
                now,
            )
        };
        if live && secrets.len() < plan.sample && (plan.keep_rest || rng.random_ratio(1, 4)) {
            secrets.push(secret.expose().to_owned());
        } else if plan.keep_rest {
            rest.push(secret.expose().to_owned());
        }
        minted.push((token, secret.hash()));
        if minted.len() == CHUNK || i + 1 == plan.tokens {
            written += minted.len();
            store
                .insert_tokens(std::mem::take(&mut minted))
                .await
                .map_err(fail)?;
            eprintln!("seeded {written} of {} tokens", plan.tokens);
        }
    }
    Ok(Seeded {
        tokens: plan.tokens,
        root: plan.root.expose().to_owned(),
        secrets,
        rest,
        member: members[0].username.to_string(),
    })
}

/// A seeded SQLite file of `tokens` tokens under `dir`, made once and kept: seeding a million
/// tokens takes a while, and the benches only read it (or write to copies of their own).
pub async fn cached_sqlite(dir: &Path, tokens: usize) -> Result<(PathBuf, Seeded), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let db = dir.join(format!("sqlite-{tokens}.db"));
    let manifest = dir.join(format!("sqlite-{tokens}.json"));
    if let Ok(text) = std::fs::read_to_string(&manifest)
        && let Ok(seeded) = serde_json::from_str::<Seeded>(&text)
        && db.is_file()
    {
        return Ok((db, seeded));
    }
    for stale in [&db, &manifest] {
        let _ = std::fs::remove_file(stale);
    }
    let store = SqliteStore::open(&db).map_err(|e| e.to_string())?;
    let plan = Plan {
        tokens,
        members: (tokens / 1_000).clamp(1, 1_000),
        sample: tokens,
        keep_rest: true,
        root: Secret::generate(&SecretFormat::default()),
    };
    let seeded = seed(&store, &plan).await?;
    drop(store);
    let mut file = std::fs::File::create(&manifest)
        .map_err(|e| format!("cannot write {}: {e}", manifest.display()))?;
    file.write_all(serde_json::to_string(&seeded).expect("json").as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", manifest.display()))?;
    Ok((db, seeded))
}

/// A live organization token of `owner` in `org`, with the scope `tokens:read`, that never
/// expires: what a plain mint stores.
pub fn token(owner: AccountId, org: OrgId, name: &str, secret: &Secret, now: Timestamp) -> Token {
    Token {
        id: TokenId::new(),
        owner,
        created_by: owner,
        org,
        reach: Reach::Organization,
        name: name.parse().expect("a valid token name"),
        scopes: latchkey_core::ScopeCatalog::default()
            .parse(&["tokens:read"])
            .expect("a catalog scope"),
        token_type: TokenType::ReadWrite,
        hint: secret.hint(),
        created_at: now,
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
    }
}

fn slug(text: &str) -> Slug {
    text.parse().expect("a valid slug")
}

/// The size of the store the criterion benches use: `LATCHKEY_BENCH_TOKENS`, a million by
/// default.
pub fn bench_tokens() -> usize {
    std::env::var("LATCHKEY_BENCH_TOKENS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000)
}

/// Where the seeded stores are kept between runs: `target/latchkey-bench` of the workspace.
pub fn bench_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/latchkey-bench")
}

/// When a benchmark's reads happen: now, for status filters and expiry.
pub fn now() -> Timestamp {
    SystemClock.now()
}
