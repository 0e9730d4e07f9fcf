//! GrowthBook-compatible hashing, bucket ranges, variant choice and namespaces.
//!
//! The definitions follow GrowthBook's public SDK specification (the `hash`, `getBucketRange`,
//! `chooseVariation` and `inNamespace` sections of its cross-SDK test suite, which
//! `tests/growthbook_cases.rs` replays):
//!
//! * FNV-1a 32-bit over the **UTF-16 code units** of the string (the JavaScript SDK hashes
//!   `charCodeAt`, so a non-ASCII id must be hashed the same way to land in the same bucket);
//! * hash version 1: `(fnv(value + seed) % 1000) / 1000`;
//! * hash version 2: `(fnv(decimal(fnv(seed + value))) % 10000) / 10000`;
//! * bucket ranges: variant `i` owns `[w_0 + … + w_{i-1}, that + coverage · w_i)`, so raising the
//!   coverage only lengthens each range at its end and never moves an enrolled unit;
//! * a unit is in namespace `(name, start, end)` when `start <= hash_v1("__" + name, id) < end`.
//!
//! Where liftlab deliberately differs from the SDKs it says so: weights of the wrong length or
//! that do not sum to 1, and a coverage outside `[0, 1]`, are errors here instead of being
//! silently replaced by equal weights or clamped.

use crate::error::{Error, Result};

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// How far the weights may sum from 1 and still be accepted: the window GrowthBook's SDKs use
/// (`0.99 <= sum <= 1.01`), so a spec that works there works here.
pub const WEIGHT_SUM_TOLERANCE: f64 = 0.01;

/// Streaming FNV-1a (32-bit) over UTF-16 code units.
#[derive(Clone, Copy, Debug)]
pub struct Fnv32(u32);

impl Default for Fnv32 {
    fn default() -> Self {
        Fnv32(FNV_OFFSET)
    }
}

impl Fnv32 {
    /// Feeds the UTF-16 code units of `s`.
    #[inline]
    pub fn write_str(mut self, s: &str) -> Self {
        if s.is_ascii() {
            for &b in s.as_bytes() {
                self.0 = (self.0 ^ b as u32).wrapping_mul(FNV_PRIME);
            }
        } else {
            for u in s.encode_utf16() {
                self.0 = (self.0 ^ u as u32).wrapping_mul(FNV_PRIME);
            }
        }
        self
    }

    /// Feeds ASCII digits (a decimal number).
    #[inline]
    fn write_ascii(mut self, bytes: &[u8]) -> Self {
        for &b in bytes {
            self.0 = (self.0 ^ b as u32).wrapping_mul(FNV_PRIME);
        }
        self
    }

    /// The hash value.
    #[inline]
    pub fn finish(self) -> u32 {
        self.0
    }
}

/// FNV-1a 32-bit of a string's UTF-16 code units.
pub fn fnv1a32(s: &str) -> u32 {
    Fnv32::default().write_str(s).finish()
}

/// A hash algorithm version, as GrowthBook numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum HashVersion {
    /// `(fnv(value + seed) % 1000) / 1000`: 1,000 buckets (GrowthBook's original).
    V1,
    /// `(fnv(str(fnv(seed + value))) % 10000) / 10000`: 10,000 buckets, better mixing.
    V2,
}

/// Version 2, the default at every door (`liftlab hash`, `liftlab.hash_unit`, `POST /v1/hash`).
impl Default for HashVersion {
    fn default() -> Self {
        HashVersion::V2
    }
}

impl HashVersion {
    /// The default version's number (2), for doors that take the number.
    pub fn default_number() -> i64 {
        i64::from(u8::from(HashVersion::default()))
    }
}

impl TryFrom<u8> for HashVersion {
    type Error = String;
    fn try_from(v: u8) -> std::result::Result<Self, String> {
        match v {
            1 => Ok(HashVersion::V1),
            2 => Ok(HashVersion::V2),
            other => Err(format!("unknown hash version {other}; use 1 or 2")),
        }
    }
}

impl From<HashVersion> for u8 {
    fn from(v: HashVersion) -> u8 {
        match v {
            HashVersion::V1 => 1,
            HashVersion::V2 => 2,
        }
    }
}

impl HashVersion {
    /// Parses a version number, naming the field on error.
    pub fn from_number(v: i64, field: &str) -> Result<Self> {
        u8::try_from(v)
            .ok()
            .and_then(|v| HashVersion::try_from(v).ok())
            .ok_or_else(|| Error::invalid(field, format!("unknown hash version {v}; use 1 or 2")))
    }
}

/// Writes `n` in decimal into `buf`, returning the used tail.
#[inline]
fn decimal(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// A seed prepared for hashing many values: the FNV state after the seed is computed once.
#[derive(Clone, Debug)]
pub struct Hasher {
    seed: String,
    version: HashVersion,
    seed_state: Fnv32,
}

impl Hasher {
    /// Prepares `seed` for `version`.
    pub fn new(seed: &str, version: HashVersion) -> Self {
        Hasher { seed: seed.to_string(), version, seed_state: Fnv32::default().write_str(seed) }
    }

    /// The hash of `value` in `[0, 1)`.
    #[inline]
    pub fn hash(&self, value: &str) -> f64 {
        match self.version {
            HashVersion::V1 => {
                let h = Fnv32::default().write_str(value).write_str(&self.seed).finish();
                (h % 1000) as f64 / 1000.0
            }
            HashVersion::V2 => {
                let inner = self.seed_state.write_str(value).finish();
                let mut buf = [0u8; 10];
                let h = Fnv32::default().write_ascii(decimal(inner, &mut buf)).finish();
                (h % 10000) as f64 / 10000.0
            }
        }
    }
}

/// How many values [`Hasher::hash_many`] hashes in lockstep. FNV-1a is a serial chain of
/// xor-multiply steps, so one value at a time leaves the multiplier idle; interleaving several
/// independent chains keeps it busy (measured in bench/RESULTS.md).
const LANES: usize = 8;

#[inline(always)]
#[allow(clippy::needless_range_loop)] // index loops keep the lanes interleaved
fn fnv_lanes(mut states: [u32; LANES], strs: &[&[u8]; LANES]) -> [u32; LANES] {
    let common = strs.iter().map(|s| s.len()).min().unwrap_or(0);
    for j in 0..common {
        for l in 0..LANES {
            states[l] = (states[l] ^ strs[l][j] as u32).wrapping_mul(FNV_PRIME);
        }
    }
    for l in 0..LANES {
        for &b in &strs[l][common..] {
            states[l] = (states[l] ^ b as u32).wrapping_mul(FNV_PRIME);
        }
    }
    states
}

impl Hasher {
    /// Hashes many values into `out` (same length); equal to calling [`Hasher::hash`] on each.
    pub fn hash_many<S: AsRef<str>>(&self, values: &[S], out: &mut [f64]) {
        assert_eq!(values.len(), out.len(), "hash_many: output length");
        let mut i = 0;
        while i + LANES <= values.len() {
            let strs: [&str; LANES] = std::array::from_fn(|l| values[i + l].as_ref());
            if strs.iter().all(|s| s.is_ascii()) {
                let bytes: [&[u8]; LANES] = std::array::from_fn(|l| strs[l].as_bytes());
                match self.version {
                    HashVersion::V1 => {
                        let h = fnv_lanes([FNV_OFFSET; LANES], &bytes);
                        let seed = self.seed.as_bytes();
                        let h = if self.seed.is_ascii() {
                            fnv_lanes(h, &[seed; LANES])
                        } else {
                            std::array::from_fn(|l| Fnv32(h[l]).write_str(&self.seed).finish())
                        };
                        for l in 0..LANES {
                            out[i + l] = (h[l] % 1000) as f64 / 1000.0;
                        }
                    }
                    HashVersion::V2 => {
                        let inner = fnv_lanes([self.seed_state.0; LANES], &bytes);
                        let mut bufs = [[0u8; 10]; LANES];
                        let mut starts = [0usize; LANES];
                        for l in 0..LANES {
                            starts[l] = 10 - decimal(inner[l], &mut bufs[l]).len();
                        }
                        let digits: [&[u8]; LANES] = std::array::from_fn(|l| &bufs[l][starts[l]..]);
                        let h = fnv_lanes([FNV_OFFSET; LANES], &digits);
                        for l in 0..LANES {
                            out[i + l] = (h[l] % 10000) as f64 / 10000.0;
                        }
                    }
                }
            } else {
                for l in 0..LANES {
                    out[i + l] = self.hash(strs[l]);
                }
            }
            i += LANES;
        }
        for j in i..values.len() {
            out[j] = self.hash(values[j].as_ref());
        }
    }
}

/// GrowthBook's `hash(seed, value, version)`: a number in `[0, 1)`.
pub fn hash_unit(seed: &str, value: &str, version: HashVersion) -> f64 {
    Hasher::new(seed, version).hash(value)
}

/// A half-open interval `[start, end)` of the unit interval.
pub type BucketRange = (f64, f64);

/// The most variants an experiment (or [`bucket_ranges`]) may have (see [`crate::limits`]).
pub use crate::limits::MAX_VARIANTS;

/// Equal weights `1/n` (empty for `n == 0`).
pub fn equal_weights(n: usize) -> Vec<f64> {
    vec![1.0 / n as f64; n]
}

/// Checks `weights` for `n_variants` variants: right length, finite, non-negative, summing to 1
/// within [`WEIGHT_SUM_TOLERANCE`].
pub fn validate_weights(n_variants: usize, weights: &[f64]) -> Result<()> {
    if weights.len() != n_variants {
        return Err(Error::invalid(
            "weights",
            format!("has {} entries for {} variants; give one weight per variant", weights.len(), n_variants),
        ));
    }
    if let Some(i) = weights.iter().position(|w| !w.is_finite() || *w < 0.0) {
        return Err(Error::invalid(format!("weights[{i}]"), format!("{} is not a finite weight >= 0", weights[i])));
    }
    let sum: f64 = weights.iter().sum();
    if (sum - 1.0).abs() > WEIGHT_SUM_TOLERANCE {
        return Err(Error::invalid(
            "weights",
            // rounded to 10 decimals: 0.7 + 0.6 reads "1.3", not the binary sum 1.2999999999999998
            format!(
                "sum to {}, not 1 (GrowthBook would silently use equal weights; liftlab refuses)",
                (sum * 1e10).round() / 1e10
            ),
        ));
    }
    Ok(())
}

/// Checks a coverage fraction.
pub fn validate_coverage(coverage: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&coverage) {
        return Err(Error::invalid("coverage", format!("{coverage} is outside [0, 1]")));
    }
    Ok(())
}

/// The bucket range of each variant for a coverage and weights (equal weights when `None`).
///
/// Variant `i` owns `[c_i, c_i + coverage · w_i)` with `c_i` the running sum of the weights
/// before it, so ramping the coverage up keeps every enrolled unit in its variant.
pub fn bucket_ranges(n_variants: usize, coverage: f64, weights: Option<&[f64]>) -> Result<Vec<BucketRange>> {
    if n_variants == 0 {
        return Err(Error::invalid("n_variants", "must be at least 1"));
    }
    crate::limits::check_len("n_variants", n_variants, crate::limits::MAX_VARIANTS, "variants")?;
    validate_coverage(coverage)?;
    let equal;
    let weights = match weights {
        Some(w) => {
            validate_weights(n_variants, w)?;
            w
        }
        None => {
            equal = equal_weights(n_variants);
            &equal
        }
    };
    let mut cumulative = 0.0;
    Ok(weights
        .iter()
        .map(|w| {
            let start = cumulative;
            cumulative += w;
            (start, start + coverage * w)
        })
        .collect())
}

/// The index of the range holding `hash` (`start <= hash < end`), or `None`.
#[inline]
pub fn choose_variant(hash: f64, ranges: &[BucketRange]) -> Option<usize> {
    ranges.iter().position(|&(s, e)| hash >= s && hash < e)
}

/// Whether `unit_id` falls in `[start, end)` of namespace `name` (hash v1 of `"__" + name`).
pub fn in_namespace(unit_id: &str, name: &str, start: f64, end: f64) -> bool {
    let n = hash_unit(&format!("__{name}"), unit_id, HashVersion::V1);
    n >= start && n < end
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a test vectors from the reference (Fowler/Noll/Vo, `test_fnv.c`, FNV1a_32):
    /// "" -> 0x811c9dc5, "a" -> 0xe40c292c, "foobar" -> 0xbf9cf968.
    #[test]
    fn fnv1a_reference_vectors() {
        assert_eq!(fnv1a32(""), 0x811c9dc5);
        assert_eq!(fnv1a32("a"), 0xe40c292c);
        assert_eq!(fnv1a32("foobar"), 0xbf9cf968);
    }

    #[test]
    fn utf16_code_units_not_bytes() {
        // "é" is one UTF-16 unit 0x00e9 (two UTF-8 bytes): hashing the unit must differ from the bytes.
        let by_unit = (FNV_OFFSET ^ 0xe9).wrapping_mul(FNV_PRIME);
        assert_eq!(fnv1a32("é"), by_unit);
        // An astral character is two surrogate units.
        let mut h = FNV_OFFSET;
        for u in [0xd83du32, 0xde00] {
            h = (h ^ u).wrapping_mul(FNV_PRIME);
        }
        assert_eq!(fnv1a32("😀"), h);
    }

    #[test]
    fn v2_uses_decimal_of_inner_hash() {
        let inner = fnv1a32("seeda");
        let outer = fnv1a32(&inner.to_string());
        assert_eq!(hash_unit("seed", "a", HashVersion::V2), (outer % 10000) as f64 / 10000.0);
    }

    #[test]
    fn hash_many_equals_hash() {
        let values: Vec<String> = (0..1000)
            .map(|i| match i % 5 {
                0 => format!("user-{i}"),
                1 => format!("+1555{i:07}"),
                2 => "é".repeat(i % 7 + 1),
                3 => String::new(),
                _ => "x".repeat(i % 40),
            })
            .collect();
        for (seed, v) in
            [("seed", HashVersion::V1), ("seed", HashVersion::V2), ("", HashVersion::V2), ("sé", HashVersion::V1)]
        {
            let h = Hasher::new(seed, v);
            let mut out = vec![0.0; values.len()];
            h.hash_many(&values, &mut out);
            for (x, o) in values.iter().zip(&out) {
                assert_eq!(h.hash(x), *o, "{seed} {v:?} {x}");
            }
        }
    }

    #[test]
    fn rejects_bad_weights_and_coverage() {
        assert!(bucket_ranges(2, 1.0, Some(&[0.4, 0.1])).is_err());
        assert!(bucket_ranges(3, 1.0, Some(&[0.5, 0.5])).is_err());
        assert!(bucket_ranges(2, 1.5, None).is_err());
        assert!(bucket_ranges(2, -0.1, None).is_err());
        assert!(bucket_ranges(2, 1.0, Some(&[f64::NAN, 1.0])).is_err());
        assert_eq!(bucket_ranges(2, 0.5, None).unwrap(), vec![(0.0, 0.25), (0.5, 0.75)]);
        // the sum reads as the weights were written (0.7 + 0.6 is 1.2999999999999998 in binary)
        let e = validate_weights(2, &[0.7, 0.6]).unwrap_err();
        assert!(e.to_string().starts_with("weights: sum to 1.3, not 1 ("), "{e}");
    }
}
