//! The hot path: secret → hash → in-process cache → store on a miss. Also the in-memory
//! `last_used_at` stamps and the task that flushes them, and the accounts, organizations and
//! roles that every other call of an authenticated caller looks up, kept by the same
//! invalidations.

use std::mem;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use latchkey_core::policy;
use latchkey_core::{
    Account, AccountId, Organization, Role, Scopes, SecretFormat, SecretHash, Slug, Timestamp,
    TokenId, TokenStatus, TokenView, VerifyCode, secret,
};
use latchkey_store::{Invalidation, OrgKey, Store, StoreError};
use quick_cache::sync::Cache;
use tokio::sync::mpsc;

pub mod table;
use table::{Keyed, SecretTable};

/// How the verification cache behaves.
#[derive(Clone, Debug)]
pub struct CacheConfig {
    /// How many tokens the cache holds at most; it remembers a sixteenth as many secrets
    /// found to be no token's, a sixteenth as many organizations with a caller's role, and a
    /// sixteenth as many accounts.
    pub capacity: usize,
    /// The hard lifetime of a found entry (a token, an account, an organization): the
    /// backstop if an eviction is ever missed. Kept in whole seconds (of the clock
    /// verification reads anyway), a fraction dropped.
    pub positive_ttl: Duration,
    /// How long "no such token" is remembered, to shield the store from repeated misses; in
    /// whole seconds too.
    pub negative_ttl: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            capacity: 1_000_000,
            positive_ttl: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(2),
        }
    }
}

/// A found credential as the cache keeps it.
///
/// `repr(C)`, with what every hit reads first: a hit clones the `Arc` (so it touches the line
/// of the reference counts anyway), and these fields share that line or the next, where the
/// view behind them spans seven lines of which a hit needs none. With a million tokens cached
/// each line a hit reads is a miss to memory, the cost that dominates a verify.
#[repr(C)]
#[derive(Debug)]
pub struct Cached {
    /// The hash of the secret, which a lookup checks whole.
    hash: SecretHash,
    /// The last second a use was recorded for, so a token used a thousand times in a second
    /// takes the stamp lock once.
    last_stamp: AtomicI64,
    /// `view.token.id`, for the stamp.
    id: TokenId,
    /// The second it was read from the store, for the cache's TTL.
    inserted: i64,
    /// `view.token.expires_at`.
    expires_at: Option<Timestamp>,
    /// `view.token.revoked_at.is_some()`.
    revoked: bool,
    /// `view.owner_role()`.
    owner_role: Option<Role>,
    /// Apart from the fields above, so that the entries' fronts lie close together in memory
    /// (a size class of their own) and a hit reads none of the view's 700 bytes: with a
    /// million cached, 476 ns a hit against 405 (BENCHMARKS.md).
    pub view: Box<TokenView>,
}

impl Cached {
    fn new(hash: SecretHash, view: TokenView, inserted: Timestamp) -> Self {
        Self {
            hash,
            last_stamp: AtomicI64::new(i64::MIN),
            id: view.token.id,
            inserted: inserted.unix(),
            expires_at: view.token.expires_at,
            revoked: view.token.revoked_at.is_some(),
            owner_role: view.owner_role(),
            view: Box::new(view),
        }
    }

    /// The role the owner acts with in the token's organization: `view.owner_role()`.
    pub fn owner_role(&self) -> Option<Role> {
        self.owner_role
    }

    /// [`policy::verdict`] for this token, its status judged from the fields above: the view
    /// is read only when a scope is required.
    pub fn verdict(&self, role: Option<Role>, required: &Scopes, now: Timestamp) -> VerifyCode {
        let status = TokenStatus::of(self.revoked, self.expires_at, now);
        policy::verdict_for_status(status, &self.view.token, role, required)
    }
}

impl Keyed for Cached {
    fn key(&self) -> &SecretHash {
        &self.hash
    }
}

/// Whether an entry made at second `inserted` is younger than `ttl` seconds at `now`. An entry
/// from the future (the wall clock was set back) is not: the TTL is a hard limit, which a
/// clock step must not stretch.
fn fresh(inserted: i64, ttl: u64, now: Timestamp) -> bool {
    u64::try_from(now.unix().wrapping_sub(inserted)).is_ok_and(|age| age < ttl)
}

/// What the store answered, as the verifier keeps it, with the second it was read.
struct Kept<T> {
    value: T,
    inserted: i64,
}

/// What the verifier keeps of the directory: an organization with an account's role in it
/// (none for a non-member), by the organization's slug or id and the account.
type KeptOrganizations = Cache<(OrgKey, AccountId), Arc<Kept<(Organization, Option<Role>)>>>;

pub struct Verifier {
    store: Arc<dyn Store>,
    format: SecretFormat,
    /// Tokens found, the table every hit reads.
    found: SecretTable<Cached>,
    /// Secrets no token has, and the second that was found: these keys are anyone's choice,
    /// so they go to a cache that hashes them with a seed of its own.
    missing: Cache<SecretHash, i64>,
    /// Organizations found, with an account's role in each: what every call but verify
    /// starts with, a round trip to PostgreSQL.
    organizations: KeptOrganizations,
    /// Accounts found by username: what a listing by owner, a mint for another owner and the
    /// member calls read, another round trip.
    accounts: Cache<Slug, Arc<Kept<Account>>>,
    /// Bumped by every eviction, so a lookup that raced one does not put back what it read. A
    /// plain atomic: a hit only loads it, and shares no lock with other cores.
    epoch: AtomicU64,
    /// Held (written) by an eviction around its bump and removals, and (read) by a miss around
    /// its check of the epoch and its insert, so that the two never interleave.
    gate: RwLock<()>,
    /// False while this node may miss other nodes' invalidations (its listener is down): the
    /// cache then answers nothing and takes nothing in.
    trusted: AtomicBool,
    /// Uses not yet written, in the order they came: an append is all the hot path pays (a
    /// token adds one a second at most); the flusher keeps each token's latest.
    stamps: Mutex<Vec<Stamp>>,
    /// The buffer the last flush emptied, memory and all, which the next flush puts in place
    /// of the one it takes: pushed into fresh memory instead, a second's stamps would fault in
    /// a page every 170 of them (a seventh of a hit's time when every hit stamps).
    spare: Mutex<Vec<Stamp>>,
    /// The TTLs of the configuration, in whole seconds.
    positive_ttl: u64,
    negative_ttl: u64,
}

impl Verifier {
    pub fn new(store: Arc<dyn Store>, format: SecretFormat, config: CacheConfig) -> Self {
        let sixteenth = (config.capacity / 16).max(1);
        Self {
            store,
            format,
            found: SecretTable::new(config.capacity),
            missing: Cache::new(sixteenth),
            organizations: Cache::new(sixteenth),
            accounts: Cache::new(sixteenth),
            positive_ttl: config.positive_ttl.as_secs(),
            negative_ttl: config.negative_ttl.as_secs(),
            epoch: AtomicU64::new(0),
            gate: RwLock::new(()),
            trusted: AtomicBool::new(true),
            stamps: Mutex::new(Vec::new()),
            spare: Mutex::new(Vec::new()),
        }
    }

    pub fn format(&self) -> &SecretFormat {
        &self.format
    }

    /// The credential a secret belongs to, `now` being the caller's clock (one read serves the
    /// cache's TTL and the token's expiry). `Err(Malformed)`, before the store is read, when the
    /// secret is not of this server's format; `Ok(None)` when no token has it.
    pub async fn lookup(
        &self,
        secret: &str,
        now: Timestamp,
    ) -> Result<Option<Arc<Cached>>, LookupError> {
        // Whatever its length, a string is hashed whole: one no secret could be goes no further.
        if secret.len() != self.format.secret_len() {
            return Err(LookupError::Malformed);
        }
        let hash = SecretHash::of(secret);
        // The epoch before the trust: whatever stops the trust bumps the epoch after, so a
        // lookup that saw the trust still on cannot put back what it read past that moment.
        let epoch = self.epoch.load(Ordering::Acquire);
        let trusted = self.trusted.load(Ordering::Acquire);
        let stale = match trusted.then(|| self.found.get(&hash)).flatten() {
            // Only a lookup that passed the check below puts a hash in the table: a secret
            // with this hash passed it already, and a hit is spared the checksum.
            Some(cached) if fresh(cached.inserted, self.positive_ttl, now) => {
                return Ok(Some(cached));
            }
            stale => stale.is_some(),
        };
        secret::check(&self.format, secret).map_err(|_| LookupError::Malformed)?;
        if trusted
            && !stale
            && self
                .missing
                .get(&hash)
                .is_some_and(|at| fresh(at, self.negative_ttl, now))
        {
            return Ok(None);
        }
        let found = self
            .store
            .credential(hash)
            .await
            .map_err(LookupError::Store)?
            .map(|view| Arc::new(Cached::new(hash, view, now)));
        {
            // Checked and inserted under the read lock, so an eviction (which holds the write
            // lock) comes wholly before this, and bumped the epoch, or wholly after, and
            // removes what was put in: no reader ever sees a stale entry.
            let _gate = self.gate.read().unwrap_or_else(|p| p.into_inner());
            if trusted && self.epoch.load(Ordering::Acquire) == epoch {
                match &found {
                    // Each answer drops the other kind's entry: a stale "no such token" would
                    // answer once the table gave this token up, and a stale token would keep
                    // the lookup from the "no such token" behind it.
                    Some(cached) => {
                        self.found.insert(Arc::clone(cached));
                        self.missing.remove(&hash);
                    }
                    None => {
                        self.found.remove(&hash);
                        self.missing.insert(hash, now.unix());
                    }
                }
            }
        }
        Ok(found)
    }

    /// Records a use in memory; the flusher writes it within a second.
    pub fn stamp(&self, cached: &Cached, now: Timestamp) {
        // A load first: most uses fall in a second already stamped, and a plain read spares
        // them the locked exchange, which waits for the processor's pending stores.
        let second = now.unix();
        if cached.last_stamp.load(Ordering::Relaxed) != second
            && cached.last_stamp.swap(second, Ordering::Relaxed) != second
        {
            lock(&self.stamps).push((cached.id, now));
        }
    }

    /// Drops these secrets from the cache. Called after the store has committed the change
    /// and before the client hears of it.
    pub fn evict(&self, hashes: &[SecretHash]) {
        let _gate = self.close_gate();
        for hash in hashes {
            self.found.remove(hash);
            self.missing.remove(hash);
        }
    }

    /// Drops everything, accounts and organizations too: for changes that touch many tokens'
    /// rights at once (roles).
    pub fn clear(&self) {
        let _gate = self.close_gate();
        self.found.clear();
        self.missing.clear();
        self.clear_directory();
    }

    /// Drops the accounts, organizations and roles kept. Called after the store has committed
    /// a change of one of them, and before the client hears of it.
    pub fn forget_directory(&self) {
        let _gate = self.close_gate();
        self.clear_directory();
    }

    /// The removals of [`Verifier::forget_directory`], for a caller holding the gate.
    fn clear_directory(&self) {
        self.organizations.clear();
        self.accounts.clear();
    }

    /// The organization `key` names, if it exists, with `account`'s role in it (`None` for a
    /// non-member). See [`Verifier::kept_or_read`].
    pub async fn organization_and_role(
        &self,
        key: OrgKey,
        account: AccountId,
        now: Timestamp,
    ) -> Result<Option<(Organization, Option<Role>)>, StoreError> {
        let key = (key, account);
        let read = || self.store.organization_and_role(key.0.clone(), account);
        self.kept_or_read(&self.organizations, &key, now, read)
            .await
    }

    /// The account named `username`, if it exists. See [`Verifier::kept_or_read`].
    pub async fn account_by_username(
        &self,
        username: &Slug,
        now: Timestamp,
    ) -> Result<Option<Account>, StoreError> {
        let read = || self.store.account_by_username(username);
        self.kept_or_read(&self.accounts, username, now, read).await
    }

    /// What `read` finds for `key`: from `cache` while what it keeps is fresh and trusted, else
    /// from the store (`read` is called, and `key` cloned, only then), kept for next time.
    /// Every change of an account, an organization or a membership clears what is kept, on
    /// this node at once and on others when they hear of it; what is not found is not kept, so
    /// that what another node creates is seen at once.
    async fn kept_or_read<K, T, F>(
        &self,
        cache: &Cache<K, Arc<Kept<T>>>,
        key: &K,
        now: Timestamp,
        read: impl FnOnce() -> F,
    ) -> Result<Option<T>, StoreError>
    where
        K: Eq + std::hash::Hash + Clone,
        T: Clone,
        F: Future<Output = latchkey_store::Result<Option<T>>>,
    {
        // As in `lookup`: the epoch before the trust.
        let epoch = self.epoch.load(Ordering::Acquire);
        let trusted = self.trusted.load(Ordering::Acquire);
        if trusted
            && let Some(kept) = cache.get(key)
            && fresh(kept.inserted, self.positive_ttl, now)
        {
            return Ok(Some(kept.value.clone()));
        }
        let found = read().await?;
        // As in `lookup`: a change committed while the store was read bumped the epoch.
        let _gate = self.gate.read().unwrap_or_else(|p| p.into_inner());
        if trusted && self.epoch.load(Ordering::Acquire) == epoch {
            match &found {
                Some(value) => {
                    let kept = Kept {
                        value: value.clone(),
                        inserted: now.unix(),
                    };
                    cache.insert(key.clone(), Arc::new(kept));
                }
                None => {
                    cache.remove(key);
                }
            }
        }
        Ok(found)
    }

    /// Shuts out every miss's insert and bumps the epoch, for an eviction to do its removals
    /// under. The gate guards no data, so a panic while it was held leaves nothing to distrust.
    fn close_gate(&self) -> std::sync::RwLockWriteGuard<'_, ()> {
        let gate = self.gate.write().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        gate
    }

    /// Acts on what another node (or this one's listener) says: evicts, clears, or stops and
    /// restarts trusting the cache while the listener is down.
    pub fn apply(&self, invalidation: &Invalidation) {
        match invalidation {
            Invalidation::Evict(hashes) => self.evict(hashes),
            Invalidation::ClearAll => self.clear(),
            Invalidation::Directory => self.forget_directory(),
            Invalidation::Lost => {
                self.trusted.store(false, Ordering::Release);
                self.clear();
            }
            Invalidation::Listening => {
                self.clear();
                self.trusted.store(true, Ordering::Release);
            }
        }
    }

    /// Whether the cache answers: false while invalidations may go unheard.
    pub fn trusts_cache(&self) -> bool {
        self.trusted.load(Ordering::Acquire)
    }

    /// Applies every invalidation `heard` brings (see [`Store::invalidations`]), until its
    /// sender stops. Subscribe before serving, so that nothing is missed in between.
    pub fn follow(
        self: &Arc<Self>,
        mut heard: mpsc::Receiver<Invalidation>,
    ) -> tokio::task::JoinHandle<()> {
        let verifier = Arc::clone(self);
        tokio::spawn(async move {
            while let Some(invalidation) = heard.recv().await {
                verifier.apply(&invalidation);
            }
            // The listener only stops when it can no longer tell anything: trust nothing.
            tracing::error!("the invalidation listener stopped; the cache is no longer used");
            verifier.apply(&Invalidation::Lost);
        })
    }

    /// Takes the pending stamps, one for each token (its latest), in token order. The buffer
    /// goes back to the verifier when the batch is dropped.
    pub fn take_stamps(&self) -> Stamps<'_> {
        let spare = mem::take(&mut *lock(&self.spare));
        let mut batch = mem::replace(&mut *lock(&self.stamps), spare);
        // Latest first within a token, so that `dedup` keeps it.
        batch.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        batch.dedup_by_key(|stamp| stamp.0);
        Stamps {
            batch,
            verifier: self,
        }
    }

    /// Writes the pending `last_used_at` stamps in one batch.
    pub async fn flush_stamps(&self) -> Result<(), StoreError> {
        let batch = self.take_stamps();
        if let Err(error) = self.store.record_usage(&batch).await {
            // Put them back, so a passing failure loses nothing (the store keeps the latest).
            lock(&self.stamps).extend_from_slice(&batch);
            return Err(error);
        }
        Ok(())
    }

    /// Flushes stamps every `period` until the process ends.
    pub fn spawn_flusher(self: &Arc<Self>, period: Duration) -> tokio::task::JoinHandle<()> {
        let verifier = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if let Err(error) = verifier.flush_stamps().await {
                    tracing::warn!(%error, "could not record token usage; will retry");
                }
            }
        })
    }
}

/// A use of a token: the second it was verified in.
pub type Stamp = (TokenId, Timestamp);

/// Stamps taken from the verifier, one a token; their buffer returns to it on drop.
pub struct Stamps<'a> {
    batch: Vec<Stamp>,
    verifier: &'a Verifier,
}

impl std::ops::Deref for Stamps<'_> {
    type Target = [Stamp];

    fn deref(&self) -> &[Stamp] {
        &self.batch
    }
}

impl Drop for Stamps<'_> {
    fn drop(&mut self) {
        let mut batch = mem::take(&mut self.batch);
        batch.clear();
        *lock(&self.verifier.spare) = batch;
    }
}

/// The stamp buffers guard nothing a panic could leave half-done: take what is there.
fn lock(stamps: &Mutex<Vec<Stamp>>) -> std::sync::MutexGuard<'_, Vec<Stamp>> {
    stamps.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug)]
pub enum LookupError {
    Malformed,
    Store(StoreError),
}

#[cfg(test)]
mod tests {
    use latchkey_core::{Clock, ManualClock, Secret, Timestamp};
    use latchkey_store::SqliteStore;

    use super::*;

    /// What a lookup answers: the token's revocation and last use, if it is found.
    async fn seen(verifier: &Verifier, secret: &Secret) -> Option<(bool, Option<Timestamp>)> {
        let now = Timestamp::from_unix(1_900_000_000);
        let cached = verifier
            .lookup(secret.expose(), now)
            .await
            .expect("a lookup");
        cached.map(|c| (c.view.token.revoked_at.is_some(), c.view.token.last_used_at))
    }

    /// A store in a fresh directory (kept while the test runs), holding only the root's token.
    async fn rooted() -> (tempfile::TempDir, Arc<SqliteStore>, ManualClock, Secret) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("l.db")).unwrap());
        let clock = ManualClock::new(Timestamp::from_unix(1_900_000_000));
        let root = crate::bootstrap(store.as_ref(), &clock, &SecretFormat::default(), None, None)
            .await
            .unwrap()
            .expect("a root token");
        (dir, store, clock, root)
    }

    #[tokio::test]
    async fn accounts_organizations_and_roles_are_kept_until_a_change_is_heard_or_they_age() {
        let (_dir, store, clock, _root) = rooted().await;
        let verifier = Verifier::new(
            store.clone(),
            SecretFormat::default(),
            CacheConfig::default(),
        );
        let root = store.root_account().await.unwrap().expect("a root");
        let acme = Organization {
            id: latchkey_core::OrgId::new(),
            slug: "acme".parse().unwrap(),
            name: "Acme".to_owned(),
            personal: false,
            created_at: clock.now(),
        };
        store.create_organization(&acme, root.id).await.unwrap();
        let bob = latchkey_core::Account {
            id: AccountId::new(),
            username: "bob".parse().unwrap(),
            email: None,
            kind: latchkey_core::AccountKind::Human,
            is_root: false,
            created_at: clock.now(),
        };
        store.create_account(&bob, None).await.unwrap();
        // Bob's role in acme as the verifier answers it, asked by slug and by id.
        let role = async || {
            let mut roles = Vec::new();
            for key in [OrgKey::Slug(acme.slug.clone()), OrgKey::Id(acme.id)] {
                let (org, role) = verifier
                    .organization_and_role(key, bob.id, clock.now())
                    .await
                    .unwrap()
                    .expect("acme exists");
                assert_eq!(org.id, acme.id);
                roles.push(role);
            }
            assert_eq!(roles[0], roles[1]);
            roles[0]
        };
        assert_eq!(role().await, None);

        // Changed behind the verifier's back (as by another node): kept until heard of.
        store
            .add_member(acme.id, bob.id, Role::Member, clock.now())
            .await
            .unwrap();
        assert_eq!(role().await, None, "kept");
        verifier.apply(&Invalidation::Directory);
        assert_eq!(role().await, Some(Role::Member));
        // A token's eviction leaves organizations alone.
        store.set_role(acme.id, bob.id, Role::Viewer).await.unwrap();
        verifier.apply(&Invalidation::Evict(vec![SecretHash([7; 32])]));
        assert_eq!(role().await, Some(Role::Member), "kept");
        // Nor is anything kept past the cache's lifetime.
        clock.advance(CacheConfig::default().positive_ttl.as_secs() as i64);
        assert_eq!(role().await, Some(Role::Viewer));

        // While changes may go unheard, the store answers and nothing is kept.
        verifier.apply(&Invalidation::Lost);
        store
            .remove_member(acme.id, bob.id, clock.now())
            .await
            .unwrap();
        assert_eq!(role().await, None);
        store
            .add_member(acme.id, bob.id, Role::Admin, clock.now())
            .await
            .unwrap();
        assert_eq!(role().await, Some(Role::Admin));
        verifier.apply(&Invalidation::Listening);
        assert_eq!(role().await, Some(Role::Admin));
        store.set_role(acme.id, bob.id, Role::Owner).await.unwrap();
        assert_eq!(role().await, Some(Role::Admin), "kept again");
        verifier.clear();
        assert_eq!(role().await, Some(Role::Owner));

        // An organization not found is not kept: once made, it is found at once.
        let later: Slug = "later".parse().unwrap();
        let ask =
            || verifier.organization_and_role(OrgKey::Slug(later.clone()), bob.id, clock.now());
        assert_eq!(ask().await.unwrap(), None);
        let made = Organization {
            id: latchkey_core::OrgId::new(),
            slug: later.clone(),
            ..acme.clone()
        };
        store.create_organization(&made, root.id).await.unwrap();
        assert_eq!(ask().await.unwrap(), Some((made, None)));

        // Accounts alike: kept until a change is heard, and not kept when not found.
        let find = || verifier.account_by_username(&bob.username, clock.now());
        assert_eq!(find().await.unwrap().as_ref(), Some(&bob));
        store.delete_account(bob.id, clock.now()).await.unwrap();
        assert_eq!(find().await.unwrap().as_ref(), Some(&bob), "kept");
        verifier.apply(&Invalidation::Directory);
        assert_eq!(find().await.unwrap(), None);
        let again = latchkey_core::Account {
            id: AccountId::new(),
            ..bob.clone()
        };
        store.create_account(&again, None).await.unwrap();
        assert_eq!(find().await.unwrap(), Some(again));
    }

    #[test]
    fn an_entry_is_fresh_for_its_ttl_and_never_after_the_clock_is_set_back() {
        let at = Timestamp::from_unix(1_900_000_000);
        assert!(fresh(at.unix(), 60, at));
        assert!(fresh(at.unix(), 60, at.plus_seconds(59)));
        assert!(!fresh(at.unix(), 60, at.plus_seconds(60)));
        assert!(
            !fresh(at.unix(), 60, at.plus_seconds(-1)),
            "made in the future"
        );
        assert!(!fresh(at.unix(), 0, at), "a TTL of 0 caches nothing");
        assert!(!fresh(i64::MIN, 60, Timestamp::MAX));
    }

    #[test]
    fn stamps_are_taken_one_a_token_its_latest_and_their_buffer_is_used_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("l.db")).unwrap());
        let verifier = Verifier::new(store, SecretFormat::default(), CacheConfig::default());
        let (a, b) = (TokenId::new(), TokenId::new());
        let at = Timestamp::from_unix;
        lock(&verifier.stamps).extend([(b, at(5)), (a, at(7)), (b, at(9)), (a, at(6))]);
        let mut want = [(a, at(7)), (b, at(9))];
        want.sort_unstable();
        let taken = verifier.take_stamps();
        assert_eq!(*taken, want[..]);
        let buffer = taken.batch.as_ptr();
        drop(taken);
        assert!(lock(&verifier.stamps).is_empty());

        // The next flush pushes into the buffer the last one emptied.
        lock(&verifier.stamps).push((a, at(8)));
        let taken = verifier.take_stamps();
        assert_eq!(*taken, [(a, at(8))]);
        drop(taken);
        assert_eq!(lock(&verifier.stamps).as_ptr(), buffer);
        assert!(lock(&verifier.stamps).capacity() >= 4);
    }

    #[tokio::test]
    async fn a_secret_of_another_format_is_malformed_even_beside_a_cached_one() {
        let (_dir, store, clock, root) = rooted().await;
        let verifier = Verifier::new(store, SecretFormat::default(), CacheConfig::default());
        let now = clock.now();
        let good = root.expose();
        // The second lookup is a hit, which skips the checksum.
        for _ in 0..2 {
            assert!(verifier.lookup(good, now).await.unwrap().is_some());
        }
        assert!(verifier.found.get(&root.hash()).is_some(), "cached");
        let last = good.len() - 1;
        let other = if good.ends_with('0') { "1" } else { "0" };
        let bad = [
            format!("{}{other}", &good[..last]),
            good[..last].to_owned(),
            format!("{good}0"),
            good.replacen("lk_", "xy_", 1),
        ];
        // Trusted or not, the cache answers none of them.
        for trusted in [true, false] {
            if !trusted {
                verifier.apply(&Invalidation::Lost);
            }
            for bad in &bad {
                assert!(
                    matches!(verifier.lookup(bad, now).await, Err(LookupError::Malformed)),
                    "{bad}, trusted: {trusted}"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_cached_verdict_is_the_policys_verdict() {
        let (_dir, store, clock, root) = rooted().await;
        let base = store.credential(root.hash()).await.unwrap().expect("found");
        let now = clock.now();
        let catalog = latchkey_core::ScopeCatalog::default();
        let wanted = [Scopes::default(), catalog.parse(&["tokens:read"]).unwrap()];
        let mut checked = 0;
        for is_root in [false, true] {
            for membership in [None, Some(Role::Viewer), Some(Role::Owner)] {
                for revoked_at in [None, Some(now)] {
                    for expires_at in [
                        None,
                        Some(now.plus_seconds(-1)),
                        Some(now),
                        Some(now.plus_seconds(1)),
                    ] {
                        let mut view = base.clone();
                        view.owner.is_root = is_root;
                        view.membership = membership;
                        view.token.revoked_at = revoked_at;
                        view.token.expires_at = expires_at;
                        let cached = Cached::new(root.hash(), view.clone(), now);
                        assert_eq!(cached.owner_role(), view.owner_role());
                        for role in [None, Some(Role::Viewer), Some(Role::Admin)] {
                            for required in &wanted {
                                assert_eq!(
                                    cached.verdict(role, required, now),
                                    policy::verdict(&view.token, role, required, now),
                                    "{view:?} {role:?} {required:?}"
                                );
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 2 * 3 * 2 * 4 * 3 * 2);
    }

    #[tokio::test]
    async fn a_node_that_may_miss_invalidations_neither_answers_from_nor_fills_its_cache() {
        let (_dir, store, clock, old) = rooted().await;
        let format = SecretFormat::default();
        let verifier = Verifier::new(store.clone(), format.clone(), CacheConfig::default());
        let live = Some((false, None));

        // Changes another node made, unheard: the cache answers as it was.
        let id = verifier
            .lookup(old.expose(), clock.now())
            .await
            .unwrap()
            .unwrap()
            .view
            .token
            .id;
        let new = Secret::generate(&format);
        store
            .rotate_token(id, new.hash(), &new.hint())
            .await
            .unwrap();
        assert_eq!(seen(&verifier, &old).await, live);

        // The listener is down: every answer comes from the store, and none is kept.
        verifier.apply(&Invalidation::Lost);
        assert!(!verifier.trusts_cache());
        assert_eq!(seen(&verifier, &old).await, None);
        assert_eq!(seen(&verifier, &new).await, live);
        store.revoke_token(id, clock.now()).await.unwrap();
        assert_eq!(seen(&verifier, &new).await, Some((true, None)));

        // Listening again: the cache is trusted again.
        verifier.apply(&Invalidation::Listening);
        assert!(verifier.trusts_cache());
        assert_eq!(seen(&verifier, &new).await, Some((true, None)));
        store.record_usage(&[(id, clock.now())]).await.unwrap();
        assert_eq!(seen(&verifier, &new).await, Some((true, None)), "cached");
    }
}
