//! Invalidations across nodes: every write that can turn a valid token invalid, or change an
//! account, an organization or a membership, sends, in its own transaction, a notification on
//! one channel; every node listens on a connection of its own and hands what it hears to its
//! caches.
//!
//! A payload is the hex SHA-256 hashes to evict, joined by commas, `*` for "drop everything"
//! (a role change, or more hashes than fit in one notification), or `directory` for "drop the
//! accounts, organizations and roles kept" (a member added or removed, an organization renamed
//! or deleted, an account deleted). A node too old to know that word clears everything.

use std::time::Duration;

use latchkey_core::SecretHash;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::mpsc;

use super::PostgresStore;
use crate::{Invalidation, Result};

pub(super) const CHANNEL: &str = "latchkey_invalidate";
pub(super) const CLEAR_ALL: &str = "*";
pub(super) const DIRECTORY: &str = "directory";
/// PostgreSQL takes payloads under 8000 bytes; past this, a notification says "everything".
const MAX_PAYLOAD: usize = 7_000;
/// The `application_name` of the listening connection, to tell it apart in `pg_stat_activity`.
pub const LISTENER_APPLICATION_NAME: &str = "latchkey-listener";

/// How often the listening connection is checked when it is quiet, and how long the check may
/// take: a connection that died without a word (a network partition) is found within these.
const PING_EVERY: Duration = Duration::from_secs(10);
const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// Reconnection waits between tries, doubling from the first to the last.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How many invalidations wait for a slow consumer before the listener waits too.
const QUEUE: usize = 1_024;

pub(super) fn payload(hashes: &[SecretHash]) -> String {
    let mut out = String::with_capacity(hashes.len() * 65);
    for hash in hashes {
        if out.len() + 65 > MAX_PAYLOAD {
            return CLEAR_ALL.to_owned();
        }
        if !out.is_empty() {
            out.push(',');
        }
        for byte in hash.0 {
            out.push_str(&format!("{byte:02x}"));
        }
    }
    out
}

/// What a payload asks for; one that does not parse asks for everything, to be safe.
fn parse(payload: &str) -> Option<Invalidation> {
    if payload.is_empty() {
        return None;
    }
    match payload {
        CLEAR_ALL => return Some(Invalidation::ClearAll),
        DIRECTORY => return Some(Invalidation::Directory),
        _ => {}
    }
    let hashes = payload
        .split(',')
        .map(|hex| {
            let mut hash = [0; 32];
            if hex.len() != 64 || !hex.is_ascii() {
                return None;
            }
            for (byte, pair) in hash.iter_mut().zip(hex.as_bytes().chunks(2)) {
                *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
            }
            Some(SecretHash(hash))
        })
        .collect::<Option<Vec<_>>>();
    Some(match hashes {
        Some(hashes) => Invalidation::Evict(hashes),
        None => {
            tracing::warn!(
                payload,
                "an invalidation that does not parse; clearing the cache"
            );
            Invalidation::ClearAll
        }
    })
}

impl PostgresStore {
    /// Subscribes to every node's invalidations (this one's included): what each write that
    /// can turn a valid token invalid committed, from the moment this returns, for as long as
    /// the receiver is kept. The listener runs on a connection of its own (application name
    /// `latchkey-listener`). When that connection is lost, the receiver gets
    /// [`Invalidation::Lost`] at once, and [`Invalidation::Listening`] once it listens again
    /// (whatever was sent in between is lost); until then it retries with a bounded backoff. A
    /// connection that died silently is found by a check every few seconds.
    pub(super) async fn subscribe(&self) -> Result<mpsc::Receiver<Invalidation>> {
        let options = self
            .options
            .clone()
            .application_name(LISTENER_APPLICATION_NAME);
        let listener = listen(&options).await?;
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(run(listener, options, sender));
        Ok(receiver)
    }
}

/// A listener on a connection of its own, listening.
async fn listen(options: &PgConnectOptions) -> Result<PgListener, sqlx::Error> {
    // A pool of one per listener, as `PgListener::connect` makes: a lost listener's
    // connection never holds up its successor.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(BACKOFF_MAX)
        .connect_with(options.clone())
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.ignore_pool_close_event(true);
    // A lost connection is this module's to handle (and to tell of): the listener must never
    // reconnect behind its back.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// What the listener saw next.
enum Event {
    Heard(Option<Invalidation>),
    /// The connection dropped, failed, or did not answer a check in time.
    Lost(String),
    /// Nobody receives any more.
    Closed,
}

async fn run(
    mut listener: PgListener,
    options: PgConnectOptions,
    sender: mpsc::Sender<Invalidation>,
) {
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let event = tokio::select! {
            () = sender.closed() => Event::Closed,
            received = listener.try_recv() => match received {
                Ok(Some(notification)) => Event::Heard(parse(notification.payload())),
                Ok(None) => Event::Lost("the connection closed".to_owned()),
                Err(error) => Event::Lost(error.to_string()),
            },
            _ = ping.tick() => {
                let check = sqlx::query("SELECT 1").execute(&mut listener);
                match tokio::time::timeout(PING_TIMEOUT, check).await {
                    Ok(Ok(_)) => Event::Heard(None),
                    Ok(Err(error)) => Event::Lost(error.to_string()),
                    Err(_) => Event::Lost("no answer to a check".to_owned()),
                }
            }
        };
        let delivered = match event {
            Event::Heard(None) => true,
            Event::Heard(Some(invalidation)) => sender.send(invalidation).await.is_ok(),
            Event::Lost(error) => {
                tracing::warn!(%error, "the invalidation listener lost its connection; not trusting the cache until it listens again");
                if sender.send(Invalidation::Lost).await.is_err() {
                    return;
                }
                let Some(again) = reconnect(&options, &sender).await else {
                    return;
                };
                listener = again;
                tracing::info!("the invalidation listener listens again; clearing the cache");
                sender.send(Invalidation::Listening).await.is_ok()
            }
            Event::Closed => false,
        };
        if !delivered {
            return;
        }
    }
}

/// Listens again, waiting longer after each failure (up to a bound); `None` once nobody
/// receives any more.
async fn reconnect(
    options: &PgConnectOptions,
    sender: &mpsc::Sender<Invalidation>,
) -> Option<PgListener> {
    let mut delay = BACKOFF_FIRST;
    loop {
        tokio::select! {
            () = sender.closed() => return None,
            () = tokio::time::sleep(delay) => {}
        }
        match listen(options).await {
            Ok(listener) => return Some(listener),
            Err(error) => {
                tracing::warn!(%error, retry_in = ?delay, "the invalidation listener cannot reconnect")
            }
        }
        delay = (delay * 2).min(BACKOFF_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_overflow_to_clear_all() {
        let hashes: Vec<SecretHash> = (0..3u8).map(|n| SecretHash([n; 32])).collect();
        let text = payload(&hashes);
        assert_eq!(text.len(), 3 * 64 + 2);
        assert_eq!(parse(&text), Some(Invalidation::Evict(hashes)));

        let many: Vec<SecretHash> = (0..200u8).map(|n| SecretHash([n; 32])).collect();
        assert_eq!(payload(&many), CLEAR_ALL);
        assert!(payload(&many[..107]).len() <= MAX_PAYLOAD);
        assert_eq!(parse(CLEAR_ALL), Some(Invalidation::ClearAll));
        assert_eq!(parse(DIRECTORY), Some(Invalidation::Directory));
        assert_eq!(parse(""), None);
        assert_eq!(parse("zz"), Some(Invalidation::ClearAll));
        assert_eq!(parse(&"é".repeat(32)), Some(Invalidation::ClearAll));
    }
}
