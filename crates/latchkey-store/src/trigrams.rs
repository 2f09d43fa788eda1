//! Samples of the stored names' trigrams, which tell a name filter's rare trigrams from its
//! common ones.
//!
//! - PostgreSQL: `pg_trgm` answers `name_folded LIKE '%laptop 4242%'` by intersecting the lists
//!   of every trigram of the pattern, and it reads nearly every page of a common trigram's list
//!   on the way: at a million tokens, where `lap` is in one name in eight, that lookup takes
//!   2.6 ms, where the lists of the needle's two rare trigrams (`424`, `242`) take 0.2 ms and
//!   checking the whole needle in the 560 rows they share 0.4 ms more (BENCHMARKS.md). The
//!   store looks up the rare ones alone ([`TrigramSample::selective`]), in a statement of its
//!   own, then reads the page of the tokens it found.
//! - SQLite: FTS5 finds a phrase's matches in steps SQLite cannot interrupt, so a name filter
//!   that may read many names runs off the async threads; one that holds a rare trigram reads
//!   few, and runs on them ([`TrigramSample::few_hold`]).
//!
//! Neither index tells how many names hold a trigram; a sample of the stored names does. A
//! poor guess costs time, never a wrong answer.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::Result;

/// Names sampled: a trigram in one name in a thousand shows about ten times.
pub(crate) const SAMPLED_NAMES: usize = 10_000;
/// How many names holding a trigram make it rare: no more names can hold the needle, and
/// reading each match costs about 1.3 µs (BENCHMARKS.md), so a filter holding it reads for a
/// few milliseconds at worst, and for a fraction of one where the needle's other trigrams
/// narrow the matches down.
const FEW_NAMES: f64 = 10_000.0;
/// How old a sample may grow before the next name filter has it taken again.
const SAMPLE_KEPT: Duration = Duration::from_secs(600);
/// A store of fewer names than this when sampled (new, or small then) is sampled again after
/// [`SMALL_STORE_SAMPLE_KEPT`] instead, cheaply, so that its growth does not go unseen for long.
const SMALL_STORE: f64 = 100_000.0;
const SMALL_STORE_SAMPLE_KEPT: Duration = Duration::from_secs(10);
/// Below this many sampled names every frequency is a guess, and the whole needle is looked up.
const TOO_FEW_NAMES: usize = 1_000;
/// What checking a row found costs against reading one entry of a trigram's list: about
/// 0.7 µs against 2.6 ns at a million tokens (BENCHMARKS.md).
const CHECK_PER_ENTRY: f64 = 250.0;
/// The most trigrams looked up: past three rare ones the rows found are few already.
const MOST_LOOKED_UP: usize = 3;

/// How many of a sample of stored names hold each trigram of three ASCII letters or digits.
#[derive(Debug, Default)]
pub(crate) struct TrigramSample {
    names: usize,
    /// How many names the store held, as far as it knew.
    stored: f64,
    holding: HashMap<[u8; 3], u32>,
}

impl TrigramSample {
    /// The sample of `names`, already folded, out of the `stored` names of the store.
    pub(crate) fn new<'a>(names: impl IntoIterator<Item = &'a str>, stored: u64) -> Self {
        let mut sample = Self {
            stored: stored as f64,
            ..Self::default()
        };
        let mut seen = HashSet::new();
        for name in names {
            sample.names += 1;
            seen.clear();
            for trigram in trigrams(name) {
                if seen.insert(trigram) {
                    *sample.holding.entry(trigram).or_default() += 1;
                }
            }
        }
        sample.stored = sample.stored.max(sample.names as f64);
        sample
    }

    /// Whether few stored names hold some trigram of `needle` (folded), by the sample, or the
    /// store holds few names at all.
    pub(crate) fn few_hold(&self, needle: &str) -> bool {
        if self.stored <= FEW_NAMES {
            return true;
        }
        self.names >= TOO_FEW_NAMES
            && trigrams(needle).any(|trigram| self.share(trigram) * self.stored <= FEW_NAMES)
    }

    /// The trigrams of `needle` (folded) for the index to look up instead of all of them,
    /// rarest first, or `None` where looking up all of them costs about as little.
    ///
    /// Each trigram looked up costs its list; the rows every list holds must each be checked.
    /// Taking the rarest first, the share of names holding them all is guessed as the product
    /// of their shares (trigrams of one word go together more often than that, so the guess
    /// errs towards fewer rows).
    pub(crate) fn selective(&self, needle: &str) -> Option<Vec<String>> {
        if self.names < TOO_FEW_NAMES {
            return None;
        }
        let mut shares: Vec<([u8; 3], f64)> = trigrams(needle)
            .collect::<HashSet<_>>()
            .into_iter()
            .map(|trigram| (trigram, self.share(trigram)))
            .collect();
        shares.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        let every_list: f64 = shares.iter().map(|(_, share)| share).sum();
        let (mut lists, mut found) = (0.0, 1.0);
        let mut best = (f64::INFINITY, 0);
        for (taken, (_, share)) in shares.iter().take(MOST_LOOKED_UP).enumerate() {
            lists += share;
            found *= share;
            let cost = lists + CHECK_PER_ENTRY * found;
            if cost < best.0 {
                best = (cost, taken + 1);
            }
        }
        // Worth it only where it saves half: the guess of the rows found is rough.
        (best.0 < every_list / 2.0).then(|| {
            shares[..best.1]
                .iter()
                .map(|(trigram, _)| String::from_utf8_lossy(trigram).into_owned())
                .collect()
        })
    }

    /// The share of names holding `trigram`; one absent from the sample counts half a name.
    fn share(&self, trigram: [u8; 3]) -> f64 {
        let holding = self.holding.get(&trigram).copied().unwrap_or(0);
        (f64::from(holding) + 0.5) / self.names as f64
    }
}

/// A store's sample and when it was taken.
#[derive(Clone)]
pub(crate) struct NameSamples(Arc<Mutex<Taken>>);

struct Taken {
    sample: Arc<TrigramSample>,
    at: Instant,
}

impl NameSamples {
    pub(crate) fn new(sample: TrigramSample) -> Self {
        Self(Arc::new(Mutex::new(Taken {
            sample: Arc::new(sample),
            at: Instant::now(),
        })))
    }

    pub(crate) fn replace(&self, sample: TrigramSample) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Taken {
            sample: Arc::new(sample),
            at: Instant::now(),
        };
    }

    /// The current sample. Past its age (see [`SAMPLE_KEPT`]) it is taken again with
    /// `resample`, in the background (on the Tokio runtime it is called on) and once, while it
    /// keeps answering.
    pub(crate) fn current<F>(&self, resample: impl FnOnce() -> F) -> Arc<TrigramSample>
    where
        F: Future<Output = Result<TrigramSample>> + Send + 'static,
    {
        let mut taken = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let kept = if taken.sample.stored < SMALL_STORE {
            SMALL_STORE_SAMPLE_KEPT
        } else {
            SAMPLE_KEPT
        };
        if taken.at.elapsed() > kept {
            taken.at = Instant::now();
            let (sampling, samples) = (resample(), self.clone());
            tokio::spawn(async move {
                match sampling.await {
                    Ok(sample) => samples.replace(sample),
                    Err(error) => tracing::warn!(
                        %error,
                        "sampling token names failed; name filters keep the last sample"
                    ),
                }
            });
        }
        Arc::clone(&taken.sample)
    }
}

/// The trigrams of `text` made of three ASCII letters or digits: those `pg_trgm` takes from a
/// name holding them inside a word and from `LIKE '%abc%'` alike, unpadded.
fn trigrams(text: &str) -> impl Iterator<Item = [u8; 3]> + '_ {
    text.as_bytes()
        .windows(3)
        .filter(|window| window.iter().all(u8::is_ascii_alphanumeric))
        .map(|window| [window[0], window[1], window[2]])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bench's names: a word of eight, then a number.
    fn bench_like(count: usize) -> TrigramSample {
        const WORDS: [&str; 8] = [
            "deploy", "laptop", "backup", "metrics", "billing", "staging", "mobile", "runner",
        ];
        let names: Vec<String> = (0..count)
            .map(|i| format!("{} {}", WORDS[i % 8], i * 97 % 1_000_000))
            .collect();
        TrigramSample::new(names.iter().map(String::as_str), 1_000_000)
    }

    #[test]
    fn a_rare_part_of_the_needle_is_looked_up_alone() {
        let sample = bench_like(SAMPLED_NAMES);
        let looked_up = sample.selective("laptop 4242").expect("a rare part");
        assert!(!looked_up.is_empty() && looked_up.len() <= MOST_LOOKED_UP);
        for trigram in &looked_up {
            assert!(["424", "242"].contains(&trigram.as_str()), "{looked_up:?}");
        }
    }

    #[test]
    fn a_needle_of_common_trigrams_is_looked_up_whole() {
        let sample = bench_like(SAMPLED_NAMES);
        assert_eq!(sample.selective("deploy"), None);
        assert_eq!(sample.selective("laptop"), None);
    }

    #[test]
    fn a_trigram_no_sampled_name_holds_is_enough() {
        let sample = bench_like(SAMPLED_NAMES);
        assert_eq!(sample.selective("deploy zq9"), Some(vec!["zq9".to_owned()]));
    }

    #[test]
    fn nothing_to_choose_from_means_the_whole_needle() {
        assert_eq!(bench_like(TOO_FEW_NAMES - 1).selective("laptop 4242"), None);
        let sample = bench_like(SAMPLED_NAMES);
        // No trigram of three letters or digits, or only one, already the whole lookup.
        assert_eq!(sample.selective("p 4"), None);
        assert_eq!(sample.selective("ü-é"), None);
        assert_eq!(sample.selective("42"), None);
    }

    #[test]
    fn a_needle_with_a_rare_trigram_reads_few_names() {
        let sample = bench_like(SAMPLED_NAMES);
        assert!(sample.few_hold("laptop 4242"));
        assert!(sample.few_hold("zq9"));
        assert!(!sample.few_hold("deploy"));
        assert!(!sample.few_hold("p 4"), "no trigram to tell by");
        // A small store reads few names whatever the needle; a small sample tells nothing.
        assert!(TrigramSample::new(["deploy 1"], 5_000).few_hold("deploy"));
        assert!(!TrigramSample::new(["deploy 1"], 50_000).few_hold("zq9"));
    }

    #[test]
    fn a_name_counts_once_for_a_trigram_it_holds_twice() {
        let sample = TrigramSample::new(["abcabc", "abc"], 2);
        assert_eq!(sample.holding[b"abc"], 2);
        assert_eq!(sample.holding[b"bca"], 1);
        assert_eq!(sample.names, 2);
    }
}
