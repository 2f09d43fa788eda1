//! The table a verification hit reads: found credentials by the hash of their secret.
//!
//! A general cache (`quick_cache`, which this replaced) finds an entry through four lines in
//! four places of memory: its hash table's control bytes, the slot holding an index, the entry
//! that index names, and the value behind the entry's `Arc`. With a million tokens cached each
//! is a miss to memory, and a hit took several times the SHA-256 before it. Here a key picks one
//! set of eight ways, a 128-byte block holding the set's lock, a short tag of each way's key
//! and the pointers: a hit reads that block and the entry the pointer names, whose front holds
//! the reference counts it bumps anyway and the full key it is checked against.
//!
//! The keys are SHA-256 digests of secrets the server minted, so their bits are spread evenly
//! and nobody chooses where an entry lands: they index the table as they are. The table starts
//! small and doubles while it holds more than two entries a set, up to four ways for each entry
//! it may hold, so sets rarely fill; a full set gives up a way picked by the newcomer's tag, a
//! full table an entry in the next set that holds one. Either is random replacement, which
//! serves a cache whose entries live a minute at most.

use std::mem;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use arc_swap::ArcSwap;
use latchkey_core::SecretHash;

const WAYS: usize = 8;
/// The sets a new table starts with: 2,048 ways.
const FIRST_SETS: usize = 256;

/// What the table holds: something that knows the hash it is found by.
pub trait Keyed {
    fn key(&self) -> &SecretHash;
}

impl Keyed for SecretHash {
    fn key(&self) -> &SecretHash {
        self
    }
}

pub struct SecretTable<T> {
    /// Swapped whole when the table doubles; a lookup reads whichever it finds, without a lock
    /// shared with other lookups.
    sets: ArcSwap<Sets<T>>,
    /// Held (read) by every change of entries and (written) by a doubling, which would lose a
    /// change made to the sets it copies from.
    changes: RwLock<()>,
    /// How many entries the table holds, kept at `capacity` at most.
    len: AtomicUsize,
    capacity: usize,
    /// The number of sets the table stops doubling at.
    most_sets: usize,
}

type Sets<T> = Box<[Set<T>]>;

/// One set: its lock, tags and pointers in two lines of memory, which the processor fetches
/// together.
#[repr(align(128))]
struct Set<T>(RwLock<Ways<T>>);

impl<T> Set<T> {
    fn write(&self) -> RwLockWriteGuard<'_, Ways<T>> {
        // The lock guards no invariant a panic could break halfway: take what is there.
        self.0.write().unwrap_or_else(|p| p.into_inner())
    }
}

struct Ways<T> {
    /// Four bytes of each way's key, so that a lookup reads no entry but the one it finds.
    tags: [u32; WAYS],
    entries: [Option<Arc<T>>; WAYS],
}

impl<T> Default for Ways<T> {
    fn default() -> Self {
        Self {
            tags: [0; WAYS],
            entries: Default::default(),
        }
    }
}

impl<T: Keyed> Ways<T> {
    fn position(&self, key: &SecretHash, tag: u32) -> Option<usize> {
        (0..WAYS).find(|&way| {
            self.tags[way] == tag && self.entries[way].as_ref().is_some_and(|e| e.key() == key)
        })
    }
}

fn empty_sets<T>(count: usize) -> Arc<Sets<T>> {
    Arc::new((0..count).map(|_| Set(RwLock::default())).collect())
}

/// The set a key belongs to among `sets` (a power of two) and its tag: two different parts of
/// the digest.
fn place(key: &SecretHash, sets: usize) -> (usize, u32) {
    let [a, b, c, d, e, f, g, h, i, j, k, l, ..] = key.0;
    // The low bits of the first eight bytes: a doubling splits each set in two.
    let set = u64::from_le_bytes([a, b, c, d, e, f, g, h]) as usize & (sets - 1);
    (set, u32::from_le_bytes([i, j, k, l]))
}

impl<T: Keyed> SecretTable<T> {
    /// A table for `capacity` entries at most (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        // Memory grows with the entries, not the capacity: a capacity beyond any machine's
        // memory only sets where the doubling stops.
        let most_sets = (capacity.saturating_mul(4).div_ceil(WAYS))
            .checked_next_power_of_two()
            .unwrap_or(1 << (usize::BITS - 8));
        Self {
            sets: ArcSwap::new(empty_sets(most_sets.min(FIRST_SETS))),
            changes: RwLock::new(()),
            len: AtomicUsize::new(0),
            capacity,
            most_sets,
        }
    }

    fn changing(&self) -> RwLockReadGuard<'_, ()> {
        self.changes.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, key: &SecretHash) -> Option<Arc<T>> {
        let sets = self.sets.load();
        let (set, tag) = place(key, sets.len());
        let ways = sets[set].0.read().unwrap_or_else(|p| p.into_inner());
        let way = ways.position(key, tag)?;
        ways.entries[way].clone()
    }

    /// Puts `entry` in, in place of what its key held. An entry given up for it is dropped
    /// after the set's lock is let go.
    pub fn insert(&self, entry: Arc<T>) {
        {
            let _changing = self.changing();
            let sets = self.sets.load();
            let (set, tag) = place(entry.key(), sets.len());
            let mut ways = sets[set].write();
            let occupied = ways.entries.iter().flatten().count();
            // A full table and an empty set: the entry goes in, and one of another set out.
            let mut overflow = false;
            let way = match ways.position(entry.key(), tag) {
                Some(way) => way,
                None => match ways.entries.iter().position(Option::is_none) {
                    Some(free) if self.reserve() => free,
                    Some(free) if occupied == 0 => {
                        overflow = true;
                        free
                    }
                    // Full (the set or the table): the occupied way the tag's bits pick.
                    _ => (0..WAYS)
                        .filter(|&way| ways.entries[way].is_some())
                        .nth(tag as usize % occupied.max(1))
                        .unwrap_or(0),
                },
            };
            ways.tags[way] = tag;
            let given_up = ways.entries[way].replace(entry);
            drop(ways);
            drop(given_up);
            if overflow {
                self.give_up_one_after(&sets, set);
            }
        }
        if self.crowded() {
            self.double();
        }
    }

    /// Takes the entry of `key` out, if there is one.
    pub fn remove(&self, key: &SecretHash) -> Option<Arc<T>> {
        let _changing = self.changing();
        let sets = self.sets.load();
        let (set, tag) = place(key, sets.len());
        let removed = {
            let mut ways = sets[set].write();
            let way = ways.position(key, tag)?;
            ways.entries[way].take()
        };
        self.len.fetch_sub(1, Ordering::Relaxed);
        removed
    }

    /// Empties the table, set by set.
    pub fn clear(&self) {
        let _changing = self.changing();
        for set in self.sets.load().iter() {
            let taken = mem::take(&mut *set.write());
            let count = taken.entries.iter().flatten().count();
            self.len.fetch_sub(count, Ordering::Relaxed);
        }
    }

    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// More than two entries a set, and room to double.
    fn crowded(&self) -> bool {
        let sets = self.sets.load().len();
        sets < self.most_sets && self.len() > sets * 2
    }

    /// Moves every entry to twice as many sets. Each set's entries go to two of the new ones,
    /// so none overflows; lookups read the old sets until the new ones are in place.
    fn double(&self) {
        let _doubling = self.changes.write().unwrap_or_else(|p| p.into_inner());
        if !self.crowded() {
            return; // another insert doubled it first
        }
        let old = self.sets.load_full();
        let new = empty_sets::<T>(old.len() * 2);
        for set in old.iter() {
            let ways = set.write();
            for (&tag, entry) in ways.tags.iter().zip(&ways.entries) {
                let Some(entry) = entry else { continue };
                let mut target = new[place(entry.key(), new.len()).0].write();
                if let Some(free) = target.entries.iter().position(Option::is_none) {
                    target.tags[free] = tag;
                    target.entries[free] = Some(Arc::clone(entry));
                }
            }
        }
        self.sets.store(new);
    }

    /// Counts one more entry, unless the table holds `capacity` already.
    fn reserve(&self) -> bool {
        self.len
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |len| {
                (len < self.capacity).then_some(len + 1)
            })
            .is_ok()
    }

    /// Drops an entry of the first set after `set` that holds one (about one set away when
    /// the table is full: a fourth of its ways are taken), for one put in uncounted.
    fn give_up_one_after(&self, sets: &Sets<T>, set: usize) {
        for step in 1..=sets.len() {
            let given_up = sets[(set + step) & (sets.len() - 1)]
                .write()
                .entries
                .iter_mut()
                .find_map(Option::take);
            if given_up.is_some() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u64) -> Arc<SecretHash> {
        Arc::new(SecretHash::of(&format!("secret {n}")))
    }

    #[test]
    fn finds_what_was_put_in_and_nothing_else() {
        let table = SecretTable::new(100);
        let keys: Vec<_> = (0..100).map(key).collect();
        for k in &keys {
            table.insert(Arc::clone(k));
        }
        assert_eq!(table.len(), 100);
        for k in &keys {
            assert_eq!(table.get(k).as_deref(), Some(&**k));
        }
        assert!(table.get(&key(100)).is_none());
        assert!(table.remove(&keys[0]).is_some());
        assert!(table.remove(&keys[0]).is_none());
        assert!(table.get(&keys[0]).is_none());
        assert_eq!(table.len(), 99);
        table.insert(Arc::clone(&keys[1]));
        assert_eq!(table.len(), 99, "a key put in again takes its own place");
        table.clear();
        assert!(table.is_empty());
        assert!(keys.iter().all(|k| table.get(k).is_none()));
    }

    #[test]
    fn holds_its_capacity_at_most_and_keeps_taking_new_entries() {
        for capacity in [1, 7, 1_000] {
            let table = SecretTable::new(capacity);
            for n in 0..(capacity as u64 * 5) {
                let k = key(n);
                table.insert(Arc::clone(&k));
                assert!(table.len() <= capacity);
                assert_eq!(table.get(&k).as_deref(), Some(&*k), "the newest is found");
            }
            assert_eq!(table.len(), capacity);
            let found = (0..capacity as u64 * 5)
                .filter(|&n| table.get(&key(n)).is_some())
                .count();
            assert_eq!(found, capacity, "the count is what the table holds");
        }
    }

    #[test]
    fn threads_that_fill_read_and_empty_it_at_once_leave_it_consistent() {
        // Enough to double the table twice while the threads run, and to fill it.
        let table = SecretTable::new(1_500);
        let keys: Vec<_> = (0..2_000).map(key).collect();
        std::thread::scope(|scope| {
            for thread in 0..4 {
                let (table, keys) = (&table, &keys);
                scope.spawn(move || {
                    for round in 0..20_000 {
                        let k = &keys[(round * 7 + thread * 13) % keys.len()];
                        match round % 5 {
                            0 => drop(table.remove(k)),
                            1 | 2 => table.insert(Arc::clone(k)),
                            _ => {
                                if let Some(found) = table.get(k) {
                                    assert_eq!(*found, **k, "only the key asked for is found");
                                }
                            }
                        }
                        assert!(table.len() <= 1_500);
                    }
                });
            }
        });
        let held = keys.iter().filter(|k| table.get(k).is_some()).count();
        assert_eq!(held, table.len(), "the count is what the table holds");
    }

    #[test]
    fn any_capacity_makes_a_table() {
        for capacity in [0, 1, usize::MAX / 3, usize::MAX] {
            let table = SecretTable::new(capacity);
            table.insert(key(1));
            assert!(table.get(&key(1)).is_some());
        }
    }

    #[test]
    fn a_tag_shared_by_two_keys_finds_each_by_its_whole_digest() {
        let table = SecretTable::new(16);
        let a = Arc::new(SecretHash([7; 32]));
        let mut other = [7; 32];
        other[31] = 8;
        let b = Arc::new(SecretHash(other));
        table.insert(Arc::clone(&a));
        assert!(table.get(&b).is_none());
        table.insert(Arc::clone(&b));
        assert_eq!(table.get(&a).as_deref(), Some(&*a));
        assert_eq!(table.get(&b).as_deref(), Some(&*b));
        assert_eq!(table.len(), 2);
    }
}
