//! The hot path: secret → hash → in-process cache → store on a miss. Also the in-memory
//! `last_used_at` stamps and the task that flushes them.

use std::collections::HashMap;
use std::mem;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use latchkey_core::{SecretFormat, SecretHash, Timestamp, TokenId, TokenView, secret};
use latchkey_store::{Store, StoreError};
use quick_cache::sync::Cache;

/// How the verification cache behaves.
#[derive(Clone, Debug)]
pub struct CacheConfig {
    /// How many secrets (found or not) the cache holds at most.
    pub capacity: usize,
    /// The hard lifetime of a found entry: the backstop if an eviction is ever missed.
    pub positive_ttl: Duration,
    /// How long "no such token" is remembered, to shield the store from repeated misses.
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
#[derive(Debug)]
pub struct Cached {
    pub view: TokenView,
    inserted: Instant,
    /// The last second a use was recorded for, so a token used a thousand times in a second
    /// takes the stamp lock once.
    last_stamp: AtomicI64,
}

#[derive(Clone)]
enum Entry {
    Found(Arc<Cached>),
    Missing(Instant),
}

pub struct Verifier {
    store: Arc<dyn Store>,
    format: SecretFormat,
    config: CacheConfig,
    cache: Cache<SecretHash, Entry>,
    /// Bumped by every eviction, so a lookup that raced one does not put back what it read.
    epoch: AtomicU64,
    stamps: Mutex<HashMap<TokenId, Timestamp>>,
}

impl Verifier {
    pub fn new(store: Arc<dyn Store>, format: SecretFormat, config: CacheConfig) -> Self {
        Self {
            store,
            format,
            cache: Cache::new(config.capacity.max(1)),
            config,
            epoch: AtomicU64::new(0),
            stamps: Mutex::new(HashMap::new()),
        }
    }

    pub fn format(&self) -> &SecretFormat {
        &self.format
    }

    /// The credential a secret belongs to. `Err(Malformed)` before any lookup when the secret
    /// is not of this server's format; `Ok(None)` when no token has it.
    pub async fn lookup(&self, secret: &str) -> Result<Option<Arc<Cached>>, LookupError> {
        secret::check(&self.format, secret).map_err(|_| LookupError::Malformed)?;
        let hash = SecretHash::of(secret);
        match self.cache.get(&hash) {
            Some(Entry::Found(cached)) if cached.inserted.elapsed() < self.config.positive_ttl => {
                return Ok(Some(cached));
            }
            Some(Entry::Missing(at)) if at.elapsed() < self.config.negative_ttl => return Ok(None),
            _ => {}
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let found = self
            .store
            .credential(hash)
            .await
            .map_err(LookupError::Store)?;
        let entry = match found {
            Some(view) => Entry::Found(Arc::new(Cached {
                view,
                inserted: Instant::now(),
                last_stamp: AtomicI64::new(i64::MIN),
            })),
            None => Entry::Missing(Instant::now()),
        };
        if self.epoch.load(Ordering::Acquire) == epoch {
            self.cache.insert(hash, entry.clone());
            // An eviction that slipped in between the check and the insert wins.
            if self.epoch.load(Ordering::Acquire) != epoch {
                self.cache.remove(&hash);
            }
        }
        Ok(match entry {
            Entry::Found(cached) => Some(cached),
            Entry::Missing(_) => None,
        })
    }

    /// Records a use in memory; the flusher writes it within a second.
    pub fn stamp(&self, cached: &Cached, now: Timestamp) {
        if cached.last_stamp.swap(now.unix(), Ordering::Relaxed) != now.unix() {
            let mut stamps = self.stamps.lock().unwrap_or_else(|p| p.into_inner());
            stamps.insert(cached.view.token.id, now);
        }
    }

    /// Drops these secrets from the cache. Called after the store has committed the change
    /// and before the client hears of it.
    pub fn evict(&self, hashes: &[SecretHash]) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for hash in hashes {
            self.cache.remove(hash);
        }
    }

    /// Drops everything: for changes that touch many tokens' rights at once (roles, members).
    pub fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.cache.clear();
    }

    /// Writes the pending `last_used_at` stamps in one batch.
    pub async fn flush_stamps(&self) -> Result<(), StoreError> {
        let batch: Vec<(TokenId, Timestamp)> = {
            let mut stamps = self.stamps.lock().unwrap_or_else(|p| p.into_inner());
            mem::take(&mut *stamps).into_iter().collect()
        };
        if let Err(error) = self.store.record_usage(&batch).await {
            // Put them back, so a passing failure loses nothing; newer stamps win.
            let mut stamps = self.stamps.lock().unwrap_or_else(|p| p.into_inner());
            for (id, at) in batch {
                let slot = stamps.entry(id).or_insert(at);
                *slot = (*slot).max(at);
            }
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

#[derive(Debug)]
pub enum LookupError {
    Malformed,
    Store(StoreError),
}
