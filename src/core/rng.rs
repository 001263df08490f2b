//! `SimRng`: the only source of randomness in mechsim, and the documented way seeds are
//! derived, so results never depend on thread count, sharding or scheduling.
//!
//! # Seed derivation
//! Every stream is a ChaCha8 generator keyed by a 64-bit seed. Child seeds are pure
//! functions of their parent seed, a stream tag and an index (`derive_seed`):
//!
//! ```text
//! scenario seed ──REPLICATE(r)──▶ replicate seed      (one World per replicate; low 53 bits)
//! replicate seed ──TABLE(t)─────▶ table seed          (one table entity)
//! table seed ────ROUND(k)───────▶ round seed          (the deal of the table's k-th round)
//! table seed ────SEAT(s)────────▶ seat seed           (the policy at participant s)
//! ```
//! When a scenario lists its seeds explicitly, each listed value *is* the replicate seed.
//! Because no stream is shared between tables, seats or replicates, a replicate's output
//! is the same whether it runs alone, first, last or on another thread.

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// Tags that separate the derived streams (part of the seed-derivation contract: never
/// renumber them, or old results stop being reproducible).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// scenario seed -> replicate seed
    Replicate = 1,
    /// replicate seed -> table seed
    Table = 2,
    /// table seed -> seat (policy) seed
    Seat = 3,
    /// table seed -> round (deal) seed
    Round = 4,
    /// any state -> an internal reshuffle inside a game
    Reshuffle = 5,
}

/// Largest replicate seed: replicate seeds are kept to 53 bits so that every CSV and JSON
/// reader (JavaScript, pandas, R) holds them exactly.
pub const MAX_REPLICATE_SEED: u64 = (1 << 53) - 1;

/// The seed of replicate `r` of a scenario seeded `scenario_seed` (53 bits).
///
/// ```
/// use mechsim::core::rng::{MAX_REPLICATE_SEED, SimRng, Stream, derive_seed, replicate_seed};
/// let replicate = replicate_seed(42, 0);
/// assert!(replicate <= MAX_REPLICATE_SEED);
/// // Table 3's stream is a pure function of the replicate seed: no shared state.
/// let mut a = SimRng::derived(replicate, Stream::Table, 3);
/// let mut b = SimRng::new(derive_seed(replicate, Stream::Table, 3));
/// assert_eq!(a.next_u64(), b.next_u64());
/// ```
pub fn replicate_seed(scenario_seed: u64, r: u64) -> u64 {
    derive_seed(scenario_seed, Stream::Replicate, r) & MAX_REPLICATE_SEED
}

/// SplitMix64 finaliser: a bijective 64-bit mixer with good avalanche.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The child seed of `parent` for `stream` number `index` (pure, documented above).
#[inline]
pub fn derive_seed(parent: u64, stream: Stream, index: u64) -> u64 {
    let tagged = mix64(parent ^ mix64((stream as u64).wrapping_mul(0xA24B_AED4_963E_E407)));
    mix64(tagged ^ mix64(index.wrapping_add(0x632B_E59B_D9B4_E019)))
}

/// A seeded random stream (ChaCha8). Cloning copies the stream position.
#[derive(Debug)]
pub struct SimRng {
    inner: ChaCha8Rng,
}

impl Clone for SimRng {
    fn clone(&self) -> Self {
        // ChaCha8Rng is not Clone in chacha20 0.10: rebuild it at the same key, stream
        // and word position, which reproduces the remaining output exactly.
        let mut inner = ChaCha8Rng::from_seed(self.inner.get_seed());
        inner.set_stream(self.inner.get_stream());
        inner.set_word_pos(self.inner.get_word_pos());
        SimRng { inner }
    }
}

impl SimRng {
    /// A stream keyed by `seed`. The 256-bit ChaCha key is four SplitMix64 outputs.
    pub fn new(seed: u64) -> Self {
        let mut key = [0u8; 32];
        let mut state = seed;
        for chunk in key.chunks_exact_mut(8) {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            chunk.copy_from_slice(&mix64(state).to_le_bytes());
        }
        SimRng {
            inner: ChaCha8Rng::from_seed(key),
        }
    }

    /// The stream derived from `parent` for `stream` number `index`.
    pub fn derived(parent: u64, stream: Stream, index: u64) -> Self {
        SimRng::new(derive_seed(parent, stream, index))
    }

    /// A uniform integer in `[0, n)`. `n` must be positive.
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0, "SimRng::below(0)");
        self.inner.random_range(0..n)
    }

    /// True with probability `p` (clamped to [0, 1]).
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.inner.random_bool(p.clamp(0.0, 1.0))
    }

    /// A uniform float in `[0, 1)`.
    #[inline]
    pub fn unit(&mut self) -> f64 {
        self.inner.random::<f64>()
    }

    /// A standard normal draw (Box-Muller; uses two uniforms).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A uniform 64-bit value (e.g. to key a child stream).
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.inner.random::<u64>()
    }

    /// Fisher-Yates shuffle of `items` in place.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// Samples an index from unnormalised non-negative `weights` (at least one positive).
    pub fn weighted_index(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut target = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if target < *w {
                return i;
            }
            target -= w;
        }
        weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = SimRng::new(7);
        let mut b = SimRng::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn derived_streams_differ_by_tag_and_index() {
        let base = 42;
        let seeds = [
            derive_seed(base, Stream::Replicate, 0),
            derive_seed(base, Stream::Replicate, 1),
            derive_seed(base, Stream::Table, 0),
            derive_seed(base, Stream::Seat, 0),
            derive_seed(base, Stream::Round, 0),
        ];
        for i in 0..seeds.len() {
            for j in i + 1..seeds.len() {
                assert_ne!(seeds[i], seeds[j]);
            }
        }
    }

    #[test]
    fn derivation_is_a_fixed_contract() {
        // Golden values: changing them silently breaks reproducibility of old results.
        assert_eq!(mix64(0), 0xE220_A839_7B1D_CDAF);
        // Pinned from this build: seeds, the first draw of a derived stream, a bounded draw.
        assert_eq!(derive_seed(42, Stream::Replicate, 0), 0xBA0E_34D6_5396_7B67);
        assert_eq!(
            SimRng::derived(42, Stream::Replicate, 0).next_u64(),
            0x844B_3664_3C85_88BD
        );
        assert_eq!(SimRng::new(7).below(1_000_000), 270_748);
    }

    #[test]
    fn clones_continue_identically() {
        let mut a = SimRng::new(9);
        a.next_u64();
        a.below(7);
        let mut b = a.clone();
        for _ in 0..50 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn below_and_weighted_index_stay_in_range() {
        let mut rng = SimRng::new(1);
        for n in 1..20 {
            for _ in 0..50 {
                assert!(rng.below(n) < n);
            }
        }
        let w = [0.0, 1.0, 0.0, 3.0];
        for _ in 0..200 {
            let i = rng.weighted_index(&w);
            assert!(i == 1 || i == 3);
        }
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut rng = SimRng::new(3);
        let mut v: Vec<u32> = (0..52).collect();
        rng.shuffle(&mut v);
        let mut sorted = v.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..52).collect::<Vec<_>>());
    }
}
