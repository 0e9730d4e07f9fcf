//! The forecast's Monte Carlo: the base draws, the lift draws, and their summary.
//!
//! **Base draws.** Changed node `j` (in the order of `changes`) draws from ChaCha8 seeded with the
//! forecast's seed on stream `j`. Its draw `i` is a pair: `a = |z|`, `z` standard normal, and a
//! uniform `s` that picks the half of the split normal (`m − σ₋·a` when `s·(σ₋ + σ₊) < σ₋`,
//! else `m + σ₊·a`). The pairs depend on the seed, the number of draws and `j` only, never on the
//! funnel, so the service keeps those of recent seeds ([`BaseDraws`]) and answers a request that
//! differs only in its funnel without drawing again, with the same numbers bit for bit.
//!
//! One 64-bit word per draw: bits 0–7 pick the ziggurat layer, bits 8–31 are `s` (24 bits: the
//! half is taken with probability `σ₋/(σ₋ + σ₊)` to within 2⁻²⁴), bits 32–63 the position in the
//! layer. The words come in blocks of 256 draws; a draw the fast path rejects (1.5% of them) takes
//! further words after its block's. `a` is Marsaglia & Tsang's ziggurat (2000, "The Ziggurat
//! Method for Generating Random Variables", J. Stat. Softw. 5(8)) on the positive half, the tail
//! beyond `r` by Marsaglia's (1964) method; its tables are in `ziggurat_tables.rs`. Only IEEE
//! basic operations are used (the `exp` and `ln` of the rare slow path are written here from
//! them), so a seed gives the same draws on every platform.
//!
//! **Lift draws.** Per draw, `L = coverage · (Π (1 + clamp(δ_j)·f_j) − 1)`, the nodes multiplied
//! in the order of `changes`: the product of the module docs, draw by draw.
//!
//! **Summary.** The mean and the standard deviation (`n − 1`) in two passes, each sum kept in 8
//! interleaved lanes combined pairwise (a fixed order, so the same result everywhere). The
//! quantiles are numpy's "linear" ones from the exact order statistics, found with a histogram:
//! as the lifts are made each goes to one of 4,097 buckets over a range set by the first 256
//! lifts (values beyond it go to the end buckets); the counts tell which bucket holds each order
//! statistic needed, and only those buckets' lifts are gathered and selected. A value's bucket is
//! a non-decreasing function of it, so the `k`-th smallest lift is the `(k − c)`-th smallest of its
//! bucket, `c` counting the lifts in the buckets below: the same numbers as sorting (tested).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::ziggurat_tables::{ZIG_F, ZIG_R, ZIG_X};
use super::SplitNormal;
use crate::error::Result;
use crate::interrupt::Interrupt;

/// Runs `$generic` compiled for AVX2 when the CPU has it: the same IEEE operations lane by lane
/// (Rust never fuses a multiply and an add), so the same numbers, up to 1.7x faster on the long loops.
macro_rules! with_avx2 {
    ($generic:ident, $avx2:ident, ($($arg:ident: $ty:ty),*) $(-> $ret:ty)?) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        /// # Safety
        /// Only on a CPU with AVX2.
        unsafe fn $avx2($($arg: $ty),*) $(-> $ret)? {
            $generic($($arg),*)
        }

        #[cfg(target_arch = "x86_64")]
        fn dispatch($($arg: $ty),*) $(-> $ret)? {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked just above).
                unsafe { $avx2($($arg),*) }
            } else {
                $generic($($arg),*)
            }
        }

        #[cfg(not(target_arch = "x86_64"))]
        fn dispatch($($arg: $ty),*) $(-> $ret)? {
            $generic($($arg),*)
        }
    };
}

/// Draws per block of words (see the module docs); the order of the words depends on it.
const BLOCK: usize = 256;

/// How often the draw loops look at their [`Interrupt`]: every 64 blocks, about 0.1 ms of work.
const CHECK_EVERY: usize = 64 * BLOCK;
/// Interleaved lanes of every sum.
const LANES: usize = 8;
/// Buckets of the quantile histogram are `0..=BUCKETS`.
const BUCKETS: usize = 4096;
/// The length of the tables indexed by bucket: a power of two above `BUCKETS`, so that an index
/// masked with `TABLE - 1` needs no bounds check.
const TABLE: usize = 8192;

/// The base draws of every changed node for one seed and number of draws (see the module docs):
/// 16 bytes per draw and node.
#[derive(Clone, Debug, PartialEq)]
pub struct BaseDraws {
    seed: u64,
    draws: usize,
    /// Per node: `|z|` and `s` of each draw.
    nodes: Vec<(Vec<f64>, Vec<f64>)>,
}

impl BaseDraws {
    /// Draws for `nodes` changed nodes.
    pub fn new(seed: u64, draws: usize, nodes: usize) -> Self {
        let nodes = (0..nodes)
            .map(|j| {
                let mut stream = NodeStream::new(seed, j);
                let (mut a, mut s) = (vec![0.0; draws], vec![0.0; draws]);
                for (a, s) in a.chunks_mut(BLOCK).zip(s.chunks_mut(BLOCK)) {
                    stream.fill(a, s);
                }
                (a, s)
            })
            .collect();
        BaseDraws { seed, draws, nodes }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn draws(&self) -> usize {
        self.draws
    }

    /// How many changed nodes these draws serve (any forecast with at most as many).
    pub fn nodes(&self) -> usize {
        self.nodes.len()
    }

    /// The memory the draws take.
    pub fn bytes(&self) -> usize {
        Self::bytes_for(self.draws, self.nodes.len())
    }

    /// The memory the draws of `nodes` nodes take.
    pub fn bytes_for(draws: usize, nodes: usize) -> usize {
        draws.saturating_mul(nodes).saturating_mul(2 * std::mem::size_of::<f64>())
    }

    /// Whether these are the draws of a forecast with this seed, number of draws and changed nodes.
    pub fn serves(&self, seed: u64, draws: usize, nodes: usize) -> bool {
        self.seed == seed && self.draws == draws && self.nodes.len() >= nodes
    }
}

/// One node's stream of base draws.
struct NodeStream {
    rng: ChaCha8Rng,
    words: [u64; BLOCK],
}

const TWO_POW_M24: f64 = 1.0 / (1u64 << 24) as f64;
const TWO_POW_M32: f64 = 1.0 / (1u64 << 32) as f64;
const TWO_POW_M53: f64 = 1.0 / (1u64 << 53) as f64;

/// A uniform in (0, 1) from the top 53 bits of a word.
fn open01(w: u64) -> f64 {
    ((w >> 11) as f64 + 0.5) * TWO_POW_M53
}

/// `v as f64` for `v` below 2⁵², from the bits of 2⁵² + v: the same number, but it vectorises.
#[inline(always)]
fn exact_f64(v: u64) -> f64 {
    f64::from_bits(ROUNDER.to_bits() | v) - ROUNDER
}

/// The layer and the candidate `|z|` of a word (one rounding: the multiply by the layer's width).
#[inline(always)]
fn candidate(w: u64) -> (usize, f64) {
    let i = (w & 0xff) as usize;
    (i, exact_f64(w >> 32) * TWO_POW_M32 * ZIG_X[i])
}

/// The fast path of [`NodeStream::fill`]: `|z|` and the half's uniform of each word, and whether
/// the word's candidate is rejected.
#[inline(always)]
fn fast_path(words: &[u64], a: &mut [f64], s: &mut [f64], rejected: &mut [u8]) {
    for (((&w, a), s), r) in words.iter().zip(a).zip(s).zip(rejected) {
        *s = exact_f64((w >> 8) & 0xff_ffff) * TWO_POW_M24;
        let (i, x) = candidate(w);
        *a = x;
        *r = u8::from(x >= ZIG_X[i + 1]);
    }
}

impl NodeStream {
    fn new(seed: u64, node: usize) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(node as u64);
        NodeStream { rng, words: [0; BLOCK] }
    }

    /// The next `a.len()` (at most [`BLOCK`]) draws: `|z|` into `a`, the half's uniform into `s`.
    fn fill(&mut self, a: &mut [f64], s: &mut [f64]) {
        let n = a.len();
        rand::RngExt::fill(&mut self.rng, &mut self.words[..n]);
        let mut rejected = [0u8; BLOCK];
        with_avx2!(fast_path, fast_path_avx2, (words: &[u64], a: &mut [f64], s: &mut [f64], rejected: &mut [u8]));
        dispatch(&self.words[..n], a, s, &mut rejected[..n]);
        // in the order of the draws, eight flags at a time (most octets have none)
        for (start, flags) in (0..n).step_by(8).zip(rejected[..n].chunks(8)) {
            if flags.iter().fold(0, |any, &f| any | f) != 0 {
                for (i, _) in flags.iter().enumerate().filter(|(_, &f)| f != 0) {
                    a[start + i] = self.slow(self.words[start + i]);
                }
            }
        }
    }

    /// The ziggurat past its fast path: the wedge test, the tail, or a new word.
    #[cold]
    fn slow(&mut self, mut w: u64) -> f64 {
        loop {
            let (i, x) = candidate(w);
            if x < ZIG_X[i + 1] {
                return x;
            }
            if i == 0 {
                // the tail beyond r (Marsaglia 1964)
                loop {
                    let t = -ln(open01(self.next())) / ZIG_R;
                    let e = -ln(open01(self.next()));
                    if 2.0 * e >= t * t {
                        return ZIG_R + t;
                    }
                }
            }
            let u = open01(self.next());
            if ZIG_F[i] + (ZIG_F[i + 1] - ZIG_F[i]) * u < exp(-0.5 * x * x) {
                return x;
            }
            w = self.next();
        }
    }

    fn next(&mut self) -> u64 {
        rand::Rng::next_u64(&mut self.rng)
    }
}

/// ln 2 in two parts (fdlibm's): `LN2_HI` ends in 21 zero bits, so `k·LN2_HI` is exact for the
/// `k` used here, and `LN2_LO` is the rest.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);

/// `1/k!` for k = 0..=13.
const INV_FACTORIAL: [f64; 14] = [
    1.0,
    1.0,
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// `eᵗ` for `t` in [-745, 709] from basic operations only: `t = k·ln 2 + r`, `|r| ≤ ln 2 / 2`,
/// Taylor to `r¹³/13!` (truncation below 2⁻⁵⁶ of the result), times `2ᵏ`. Within 2 ulp of
/// libm's (tested); used only where draws are rejected or accepted, never for a draw's value.
fn exp(t: f64) -> f64 {
    // round to nearest by adding and taking away 1.5·2⁵² (no libm `round` call)
    let k = (t * std::f64::consts::LOG2_E + 1.5 * ROUNDER) - 1.5 * ROUNDER;
    let r = (t - k * LN2_HI) - k * LN2_LO;
    // the polynomial as two halves of 7 terms, evaluated side by side (half the latency)
    let (low, high) = INV_FACTORIAL.split_at(7);
    let horner = |c: &[f64]| c.iter().rev().fold(0.0, |p, &c| p * r + c);
    let r7 = (r * r) * (r * r) * (r * r) * r;
    let p = horner(low) + r7 * horner(high);
    // 2ᵏ in two steps, so that k down to -1074 stays exact
    let (k, pow2) = (k as i64, |e: i64| f64::from_bits(((1023 + e) as u64) << 52));
    p * pow2(k / 2) * pow2(k - k / 2)
}

/// `1/(2k + 1)` for k = 0..=11.
const INV_ODD: [f64; 12] = [
    1.0,
    1.0 / 3.0,
    1.0 / 5.0,
    1.0 / 7.0,
    1.0 / 9.0,
    1.0 / 11.0,
    1.0 / 13.0,
    1.0 / 15.0,
    1.0 / 17.0,
    1.0 / 19.0,
    1.0 / 21.0,
    1.0 / 23.0,
];

/// `ln x` for positive, normal `x` from basic operations only: `x = 2ᵉ·m`, `m` in [√½, √2),
/// `ln m = 2 atanh((m − 1)/(m + 1))` by its series to the 23rd power. Within 2 ulp of libm's
/// (tested).
fn ln(x: f64) -> f64 {
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | (1023 << 52));
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let p = INV_ODD.iter().rev().fold(0.0, |p, &c| p * s2 + c);
    let e = e as f64;
    e * LN2_HI + (2.0 * s * p + e * LN2_LO)
}

/// What a node's base draw becomes: the split normal, clamped to the node's range, diluted.
#[derive(Clone, Copy, Debug)]
pub(super) struct NodeModel {
    pub dist: SplitNormal,
    pub min: f64,
    pub max: f64,
    pub factor: f64,
}

/// `prod[i] *= 1 + clamp(δ_i)·f` for the base draws `a`, `s` of one node; the first node sets
/// `prod[i] = 1 + clamp(δ_i)·f` (the same number: the product starts at 1).
fn apply_node(model: &NodeModel, a: &[f64], s: &[f64], prod: &mut [f64], first: bool) {
    with_avx2!(apply_node_generic, apply_node_avx2, (model: &NodeModel, a: &[f64], s: &[f64], prod: &mut [f64], first: bool));
    dispatch(model, a, s, prod, first)
}

#[inline(always)]
fn apply_node_generic(model: &NodeModel, a: &[f64], s: &[f64], prod: &mut [f64], first: bool) {
    let SplitNormal { m, lo, hi } = model.dist;
    let (min, max, f) = (model.min, model.max, model.factor);
    let total = lo + hi;
    let factor = |a: f64, s: f64| {
        if total == 0.0 {
            return 1.0 + m.clamp(min, max) * f;
        }
        let d = if s * total < lo { m - lo * a } else { m + hi * a };
        // `d.clamp(min, max)` (d is never NaN), written so that it vectorises
        let d = if d < min { min } else { d };
        let d = if d > max { max } else { d };
        1.0 + d * f
    };
    if first {
        prod.iter_mut().zip(a).zip(s).for_each(|((p, &a), &s)| *p = factor(a, s));
    } else {
        prod.iter_mut().zip(a).zip(s).for_each(|((p, &a), &s)| *p *= factor(a, s));
    }
}

/// The lift draws of a forecast with what the summary needs, gathered as they are made.
pub(super) struct LiftDraws {
    coverage: f64,
    values: Vec<f64>,
    /// Each value's histogram bucket.
    buckets: Vec<u16>,
    counts: Box<[u32; TABLE]>,
    /// The histogram's range starts at `origin`, `scale` buckets per unit.
    origin: f64,
    scale: f64,
    sum: [f64; LANES],
}

/// The lift draws of `models` with fresh base draws.
/// Stops with [`crate::Error::Cancelled`] when `stop` is raised (looked at every
/// [`CHECK_EVERY`] draws).
pub(super) fn draw_lifts(
    models: &[NodeModel],
    coverage: f64,
    seed: u64,
    draws: usize,
    stop: &Interrupt,
) -> Result<LiftDraws> {
    let mut out = LiftDraws::new(coverage, draws);
    let mut streams: Vec<NodeStream> = (0..models.len()).map(|j| NodeStream::new(seed, j)).collect();
    let (mut a, mut s, mut prod) = ([0.0; BLOCK], [0.0; BLOCK], [1.0; BLOCK]);
    for start in (0..draws).step_by(BLOCK) {
        if start % CHECK_EVERY == 0 {
            stop.check()?;
        }
        let c = BLOCK.min(draws - start);
        for (j, (model, stream)) in models.iter().zip(&mut streams).enumerate() {
            stream.fill(&mut a[..c], &mut s[..c]);
            apply_node(model, &a[..c], &s[..c], &mut prod[..c], j == 0);
        }
        out.push(&prod[..c]);
    }
    Ok(out)
}

/// The lift draws of `models` from kept base draws (`base.serves(seed, draws, models.len())`):
/// the same numbers as [`draw_lifts`].
pub(super) fn lifts_from_base(
    models: &[NodeModel],
    coverage: f64,
    base: &BaseDraws,
    stop: &Interrupt,
) -> Result<LiftDraws> {
    debug_assert!(base.nodes.len() >= models.len());
    let draws = base.draws;
    let mut out = LiftDraws::new(coverage, draws);
    let mut prod = [1.0; BLOCK];
    for start in (0..draws).step_by(BLOCK) {
        if start % CHECK_EVERY == 0 {
            stop.check()?;
        }
        let end = draws.min(start + BLOCK);
        let c = end - start;
        for (j, (model, (a, s))) in models.iter().zip(&base.nodes).enumerate() {
            apply_node(model, &a[start..end], &s[start..end], &mut prod[..c], j == 0);
        }
        out.push(&prod[..c]);
    }
    Ok(out)
}

impl LiftDraws {
    fn new(coverage: f64, draws: usize) -> Self {
        LiftDraws {
            coverage,
            values: Vec::with_capacity(draws),
            buckets: Vec::with_capacity(draws),
            counts: Box::new([0; TABLE]),
            origin: 0.0,
            scale: 0.0,
            sum: [0.0; LANES],
        }
    }

    /// Adds the lifts of the products `prod` (every push but the last is a multiple of [`LANES`]
    /// long, so lane `k` sums the draws `i ≡ k (mod 8)`).
    fn push(&mut self, prod: &[f64]) {
        let coverage = self.coverage;
        self.values.extend(prod.iter().map(|&p| coverage * (p - 1.0)));
        self.tally_last(prod.len());
    }

    /// Lift draws of given values, to summarise any sample.
    #[cfg(test)]
    pub(super) fn of(values: &[f64]) -> Self {
        let mut out = LiftDraws::new(1.0, values.len());
        for chunk in values.chunks(BLOCK) {
            out.values.extend_from_slice(chunk);
            out.tally_last(chunk.len());
        }
        out
    }

    /// Sums and buckets the last `n` values.
    fn tally_last(&mut self, n: usize) {
        let start = self.values.len() - n;
        if start == 0 {
            self.set_range(n);
        }
        self.buckets.resize(self.values.len(), 0);
        with_avx2!(tally, tally_avx2, (
            values: &[f64], buckets: &mut [u16], counts: &mut [u32; TABLE], sum: &mut [f64; LANES], origin: f64, scale: f64
        ));
        dispatch(
            &self.values[start..],
            &mut self.buckets[start..],
            &mut self.counts,
            &mut self.sum,
            self.origin,
            self.scale,
        );
    }

    /// The histogram's range: the first lifts' range, widened by half of it on each side. Only
    /// the speed depends on it: with a range of zero every lift is in one bucket.
    fn set_range(&mut self, n: usize) {
        let first = &self.values[..n];
        let lo = first.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = first.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let width = hi - lo;
        let (origin, scale) = (lo - 0.5 * width, BUCKETS as f64 / (2.0 * width));
        if width > 0.0 && origin.is_finite() && scale.is_finite() && scale > 0.0 {
            (self.origin, self.scale) = (origin, scale);
        }
    }

    pub(super) fn len(&self) -> usize {
        self.values.len()
    }

    /// The mean, the standard deviation (`n − 1`) and the order statistics at `ranks` (sorted,
    /// distinct, below `len()`), as `(rank, value)`.
    pub(super) fn summarize(mut self, ranks: &[usize]) -> (f64, f64, Vec<(usize, f64)>) {
        let n = self.values.len();
        let mean = pairwise(&self.sum) / n as f64;
        if !mean.is_finite() {
            // a lift overflowed (absurd ranges): NaN and infinities are ordered by `total_cmp`,
            // which the histogram cannot do; select in the whole array instead
            let sd = (self.values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
            select_many(&mut self.values, ranks, 0);
            return (mean, sd, ranks.iter().map(|&r| (r, self.values[r])).collect());
        }
        // which bucket holds each rank: `holders` lists (bucket, lifts in the buckets below), and
        // `target[bucket]` is 1 + its place in `holders` (0: holds none)
        let mut target = [0u8; TABLE];
        let mut holders: Vec<(usize, usize)> = Vec::new();
        let (mut below, mut r) = (0, 0);
        for (b, &c) in self.counts.iter().enumerate() {
            let end = below + c as usize;
            while r < ranks.len() && ranks[r] < end {
                if holders.last().map(|h| h.0) != Some(b) {
                    holders.push((b, below));
                    target[b] = holders.len() as u8;
                }
                r += 1;
            }
            below = end;
        }
        let mut held: Vec<Vec<f64>> = holders.iter().map(|&(b, _)| vec![0.0; self.counts[b] as usize]).collect();
        with_avx2!(sum_sq, sum_sq_avx2, (values: &[f64], mean: f64) -> f64);
        let sd = (dispatch(&self.values, mean) / (n - 1) as f64).sqrt();
        gather(&self.values, &self.buckets, &target, &mut held);
        let mut stats = Vec::with_capacity(ranks.len());
        for (values, &(_, below)) in held.iter_mut().zip(&holders) {
            let inside: Vec<usize> =
                ranks.iter().filter(|&&r| r >= below && r < below + values.len()).map(|&r| r - below).collect();
            select_many(values, &inside, 0);
            stats.extend(inside.iter().map(|&k| (below + k, values[k])));
        }
        (mean, sd, stats)
    }
}

/// `((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))`.
fn pairwise(s: &[f64; LANES]) -> f64 {
    ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

/// 2⁵²: adding it to a value in [0, 2⁵²) rounds the value to an integer held in the low bits.
const ROUNDER: f64 = 4_503_599_627_370_496.0;

/// The bucket of a lift: `round((x − origin)·scale)` clamped to `0..=BUCKETS`, non-decreasing in x.
#[inline(always)]
fn bucket(x: f64, origin: f64, scale: f64) -> u16 {
    let t = (x - origin) * scale;
    let t = if t > 0.0 { t } else { 0.0 };
    let t = if t < BUCKETS as f64 { t } else { BUCKETS as f64 };
    ((t + ROUNDER).to_bits() - ROUNDER.to_bits()) as u16
}

/// Sums `values` into the lanes and counts them into their buckets.
#[inline(always)]
fn tally(
    values: &[f64],
    buckets: &mut [u16],
    counts: &mut [u32; TABLE],
    sum: &mut [f64; LANES],
    origin: f64,
    scale: f64,
) {
    let whole = values.len() / LANES * LANES;
    for (v, b) in values[..whole].chunks_exact(LANES).zip(buckets.chunks_exact_mut(LANES)) {
        for k in 0..LANES {
            sum[k] += v[k];
            b[k] = bucket(v[k], origin, scale);
        }
    }
    for (k, (&v, b)) in values[whole..].iter().zip(&mut buckets[whole..]).enumerate() {
        sum[k] += v;
        *b = bucket(v, origin, scale);
    }
    // counted from memory: cheaper than taking each bucket out of a vector register
    for &b in buckets.iter() {
        counts[b as usize & (TABLE - 1)] += 1;
    }
}

/// `Σ (x − mean)²`.
#[inline(always)]
fn sum_sq(values: &[f64], mean: f64) -> f64 {
    let mut sq = [0.0; LANES];
    let whole = values.len() / LANES * LANES;
    for v in values[..whole].chunks_exact(LANES) {
        for k in 0..LANES {
            sq[k] += (v[k] - mean) * (v[k] - mean);
        }
    }
    for (k, &v) in values[whole..].iter().enumerate() {
        sq[k] += (v - mean) * (v - mean);
    }
    pairwise(&sq)
}

/// Copies each value whose bucket has a `target` (1 + an index of `held`) into `held`, whose
/// vectors are as long as their buckets' counts. Eight at a time: most octets hold none.
fn gather(values: &[f64], buckets: &[u16], target: &[u8; TABLE], held: &mut [Vec<f64>]) {
    let mut filled = vec![0; held.len()];
    let mut take = |v: f64, b: u16| {
        let t = target[b as usize & (TABLE - 1)] as usize;
        if t != 0 {
            held[t - 1][filled[t - 1]] = v;
            filled[t - 1] += 1;
        }
    };
    let whole = values.len() / LANES * LANES;
    for (v, b) in values[..whole].chunks_exact(LANES).zip(buckets.chunks_exact(LANES)) {
        if b.iter().fold(0, |any, &b| any | target[b as usize & (TABLE - 1)]) != 0 {
            v.iter().zip(b).for_each(|(&v, &b)| take(v, b));
        }
    }
    values[whole..].iter().zip(&buckets[whole..]).for_each(|(&v, &b)| take(v, b));
}

/// Puts the order statistics at `idx` (sorted, relative to the whole slice at `offset`) in place.
pub(super) fn select_many(v: &mut [f64], idx: &[usize], offset: usize) {
    if idx.is_empty() || v.is_empty() {
        return;
    }
    let mid = idx.len() / 2;
    let k = idx[mid] - offset;
    v.select_nth_unstable_by(k, f64::total_cmp);
    let (left, right) = v.split_at_mut(k);
    select_many(left, &idx[..mid], offset);
    select_many(&mut right[1..], &idx[mid + 1..], offset + k + 1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interrupt::NEVER;

    /// The portable `exp` and `ln` against libm's, which are correctly rounded or nearly so
    /// (glibc documents its exp and log within 1 ulp): within 2 ulp on the ranges used.
    #[test]
    fn exp_and_ln_match_libm() {
        let ulps = |a: f64, b: f64| (a.to_bits() as i64 - b.to_bits() as i64).abs();
        for i in 0..=200_000 {
            let t = -8.0 * i as f64 / 200_000.0;
            assert!(ulps(exp(t), t.exp()) <= 2, "exp({t}) = {} vs {}", exp(t), t.exp());
        }
        for t in [-700.0, -100.0, -1e-9, 0.0, 1e-9, 1.0, 100.0, 700.0] {
            assert!(ulps(exp(t), t.exp()) <= 2, "exp({t})");
        }
        let mut x = f64::MIN_POSITIVE;
        while x < 1.0 {
            assert!(ulps(ln(x), x.ln()) <= 2, "ln({x}) = {} vs {}", ln(x), x.ln());
            x *= 1.000_37;
        }
        assert_eq!(ln(1.0), 0.0);
    }

    /// The tables are a ziggurat: every layer has the base layer's area `v` and `F = e^{-x²/2}`.
    #[test]
    fn ziggurat_layers_have_equal_areas() {
        let f = |x: f64| (-0.5 * x * x).exp();
        let v = ZIG_X[0] * ZIG_F[1];
        for i in 1..256 {
            let area = ZIG_X[i] * (ZIG_F[i + 1] - ZIG_F[i]);
            assert!((area - v).abs() < 1e-13 * v, "layer {i}: {area} vs {v}");
        }
        for i in 1..257 {
            assert!((ZIG_F[i] - f(ZIG_X[i])).abs() < 1e-15, "{i}");
        }
        assert_eq!((ZIG_X[1], ZIG_X[256], ZIG_F[256]), (ZIG_R, 0.0, 1.0));
    }

    /// |z| is half-normal: its quantiles at 2,000,000 draws within 4 standard errors of
    /// `Φ⁻¹((1 + p)/2)` (the sample-quantile standard error `sqrt(p(1 − p)/n) / (2φ(q))`), and the
    /// half's uniform is uniform (its deciles within 4 standard errors).
    #[test]
    fn base_draws_are_half_normal_and_uniform() {
        let n = 2_000_000;
        let b = BaseDraws::new(11, n, 1);
        let (mut a, mut s) = b.nodes[0].clone();
        a.sort_by(f64::total_cmp);
        s.sort_by(f64::total_cmp);
        for p in [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999] {
            let q = crate::stats::norm_ppf((1.0 + p) / 2.0);
            let se = (p * (1.0 - p) / n as f64).sqrt() / (2.0 * crate::stats::norm_pdf(q));
            let got = a[(p * (n - 1) as f64) as usize];
            assert!((got - q).abs() < 4.0 * se, "p={p}: {got} vs {q} (se {se})");
            let got = s[(p * (n - 1) as f64) as usize];
            assert!((got - p).abs() < 4.0 * (p * (1.0 - p) / n as f64).sqrt(), "uniform at {p}: {got}");
        }
        // 400 bins of equal half-normal probability: chi-square with 399 degrees of freedom (mean
        // 399, sd 28.2), below 399 + 5 sd; bins this fine see a wrong layer or wedge
        let bins = 400;
        let mut counts = vec![0usize; bins];
        let mut k = 0;
        for (b, count) in counts.iter_mut().enumerate() {
            let edge = crate::stats::norm_ppf(0.5 + 0.5 * (b + 1) as f64 / bins as f64);
            while k < n && (b == bins - 1 || a[k] < edge) {
                *count += 1;
                k += 1;
            }
        }
        let expected = n as f64 / bins as f64;
        let chi2: f64 = counts.iter().map(|&c| (c as f64 - expected).powi(2) / expected).sum();
        assert!(chi2 < 399.0 + 5.0 * 28.2, "chi-square {chi2}");
        // the tail beyond r = 3.654 holds 2.58e-4 of a half-normal: 516 expected, sd 22.7
        let tail = a.iter().filter(|&&x| x > ZIG_R).count() as f64;
        assert!((tail - 516.3).abs() < 4.0 * 22.7, "{tail} draws beyond r");
        assert!(a[0] >= 0.0 && a[n - 1] < 14.0);
    }

    /// The draws of a node depend on its stream only, and fresh and kept draws give the same lifts.
    #[test]
    fn kept_base_draws_give_the_same_lifts() {
        let model = |m: f64| NodeModel {
            dist: SplitNormal { m, lo: 0.02, hi: 0.05 },
            min: -1.0,
            max: f64::INFINITY,
            factor: 1.0,
        };
        let models = [model(0.03), model(-0.01)];
        let base = BaseDraws::new(3, 1_234, 3);
        assert_eq!(BaseDraws::new(3, 1_234, 2).nodes[..], base.nodes[..2]);
        let fresh = draw_lifts(&models, 0.7, 3, 1_234, &NEVER).unwrap();
        let kept = lifts_from_base(&models, 0.7, &base, &NEVER).unwrap();
        assert_eq!(fresh.values, kept.values);
        assert_eq!(fresh.sum, kept.sum);
        let ranks = [0, 30, 31, 616, 1_203, 1_233];
        assert_eq!(fresh.summarize(&ranks), kept.summarize(&ranks));
    }

    /// The AVX2 and baseline builds of the long loops give the same bits.
    #[test]
    fn avx2_and_baseline_loops_agree() {
        let base = BaseDraws::new(5, 10_001, 1);
        let (a, s) = &base.nodes[0];
        let model = NodeModel { dist: SplitNormal { m: 0.05, lo: 0.03, hi: 0.08 }, min: -1.0, max: 0.2, factor: 0.8 };
        let mut p1 = vec![1.0; a.len()];
        apply_node_generic(&model, a, s, &mut p1, false);
        let mut p2 = vec![1.0; a.len()];
        apply_node(&model, a, s, &mut p2, true);
        assert_eq!(p1, p2);
        let (mut b1, mut b2) = (vec![0; a.len()], vec![0; a.len()]);
        let (mut c1, mut c2) = (Box::new([0; TABLE]), Box::new([0; TABLE]));
        let (mut s1, mut s2) = ([0.0; LANES], [0.0; LANES]);
        tally(&p1, &mut b1, &mut c1, &mut s1, 0.9, 3000.0);
        with_avx2!(tally, tally_avx2, (
            values: &[f64], buckets: &mut [u16], counts: &mut [u32; TABLE], sum: &mut [f64; LANES], origin: f64, scale: f64
        ));
        dispatch(&p2, &mut b2, &mut c2, &mut s2, 0.9, 3000.0);
        assert_eq!((b1, c1, s1), (b2, c2, s2));
    }
}
