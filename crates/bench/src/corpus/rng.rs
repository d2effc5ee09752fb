//! Seeded randomness that gives the same numbers on every platform: ChaCha8 streams
//! derived from (seed, purpose, tenant, run), and draws that never go through `usize`
//! (whose sampling differs between 32- and 64-bit targets).

use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub type Rng = ChaCha8Rng;

/// What a random stream is used for; each purpose gets an independent stream.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    Catalogue = 1,
    Learners = 2,
    Journeys = 3,
    Reorder = 4,
    Voiding = 5,
    Queries = 6,
}

/// An independent generator for one purpose of one (tenant, run).
pub fn stream(seed: u64, purpose: Purpose, tenant: u32, run: u32) -> Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let selector = splitmix64(((tenant as u64) << 32) | run as u64);
    rng.set_stream(splitmix64(purpose as u64 ^ selector));
    rng
}

/// SplitMix64 finaliser: spreads nearby inputs over the whole `u64` range.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Uniform index in `0..n` (`n > 0`).
pub fn below(rng: &mut Rng, n: usize) -> usize {
    debug_assert!(n > 0);
    rng.gen_range(0..n as u64) as usize
}

/// Uniform integer in `lo..=hi`.
pub fn between(rng: &mut Rng, lo: i64, hi: i64) -> i64 {
    rng.gen_range(lo..=hi)
}

/// Uniform float in `[0, 1)`.
pub fn uniform(rng: &mut Rng) -> f64 {
    rng.gen::<f64>()
}

/// `true` with probability `p`.
pub fn chance(rng: &mut Rng, p: f64) -> bool {
    uniform(rng) < p
}

/// A value in `[0, 3 * mean)` with the given mean, skewed towards small values (think
/// times, arrivals). Only correctly-rounded arithmetic: `ln`/`exp` come from the platform's
/// libm and could change a last bit, and with it the output, from one OS to another.
pub fn skewed(rng: &mut Rng, mean: f64) -> f64 {
    let u = uniform(rng);
    3.0 * mean * u * u
}

/// A random (version 4, RFC 4122 variant) UUID, as lowercase hyphenated text.
pub fn uuid(rng: &mut Rng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}
