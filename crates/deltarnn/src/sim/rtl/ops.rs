//! The RTL's three products on raw words, in its order of accumulation: one implementation for
//! the simulator's tiles ([`super::tile::Tile::outputs`]) and for training in the accelerator's
//! arithmetic (`train --arith`, [`crate::nn`]).
//!
//! Generic over [`Sum`], how a running sum is kept: [`Arith`] (the RTL itself: BF16 rounding
//! every product and sum, FXP16 wrapping to 16 bits) or [`ExactFxp`] (FXP16 summed exactly in 64
//! bits and checked at the end). Wrapping arithmetic is exact modulo 2^16, so whenever the exact
//! sum fits in 16 bits the two give the same word; when it does not, the RTL's word is wrapped
//! garbage, which training reports as an overflow instead of using.
//!
//! Shapes: `weights` is rows x columns, row-major; `idx` the fired columns of one step, ascending;
//! `vals` their delta words; `grads` one step's G (rows words).

use super::arith::Arith;
use super::tile::LANES;

/// How a running sum of 16-bit products is kept.
pub trait Sum: Copy {
    /// The running value.
    type Acc: Copy;
    /// An empty sum.
    fn zero(self) -> Self::Acc;
    /// The product `a x b` of two words.
    fn mul(self, a: u16, b: u16) -> Self::Acc;
    /// `a + b`.
    fn add(self, a: Self::Acc, b: Self::Acc) -> Self::Acc;
}

impl Sum for Arith {
    type Acc = u16;
    fn zero(self) -> u16 {
        Arith::ZERO
    }
    #[inline]
    fn mul(self, a: u16, b: u16) -> u16 {
        Arith::mul(self, a, b)
    }
    #[inline]
    fn add(self, a: u16, b: u16) -> u16 {
        Arith::add(self, a, b)
    }
}

/// FXP16 products and sums, exact in 64 bits (no rounding: every product of two 16-bit words
/// and every sum of up to 2^32 of them fits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactFxp;

impl Sum for ExactFxp {
    type Acc = i64;
    fn zero(self) -> i64 {
        0
    }
    #[inline]
    fn mul(self, a: u16, b: u16) -> i64 {
        i64::from(a as i16) * i64::from(b as i16)
    }
    #[inline]
    fn add(self, a: i64, b: i64) -> i64 {
        a + b
    }
}

impl ExactFxp {
    /// The 16-bit word of an exact sum, or `None` when it does not fit (the RTL would wrap).
    pub fn word(sum: i64) -> Option<u16> {
        i16::try_from(sum).ok().map(|w| w as u16)
    }
}

/// MxV_SP of one step: `out[r] = sum over the fired j, ascending, of W[r][j] x vals` for every
/// row, starting from an empty sum. `out` has `rows` entries.
pub fn mxv<S: Sum>(s: S, weights: &[u16], columns: usize, idx: &[u32], vals: &[u16], out: &mut [S::Acc]) {
    for (r, o) in out.iter_mut().enumerate() {
        let row = &weights[r * columns..(r + 1) * columns];
        let mut acc = s.zero();
        for (&j, &x) in idx.iter().zip(vals) {
            acc = s.add(acc, s.mul(row[j as usize], x));
        }
        *o = acc;
    }
}

/// MTxV_SP of one fired column `j`: `sum_r W[r][j] G[r]`, each block of 16 rows through the adder
/// chain (row 0 of the block first), then the blocks' sums in order. `grads` has `rows` entries,
/// a multiple of 16.
pub fn mtxv_column<S: Sum>(s: S, weights: &[u16], columns: usize, j: usize, grads: &[u16]) -> S::Acc {
    let mut acc = s.zero();
    for (block, g) in grads.chunks_exact(LANES).enumerate() {
        let base = block * LANES;
        let mut chain = s.mul(weights[base * columns + j], g[0]);
        for (lane, &gr) in g.iter().enumerate().skip(1) {
            chain = s.add(chain, s.mul(weights[(base + lane) * columns + j], gr));
        }
        acc = s.add(acc, chain);
    }
    acc
}

/// VXV_SP's contribution of one step to dW, accumulated in place (the steps must come in
/// ascending order): `dw[r][j] += G[r] x vals` at the fired columns. `dw` is rows x columns.
pub fn vxv_step<S: Sum>(s: S, dw: &mut [S::Acc], columns: usize, idx: &[u32], vals: &[u16], grads: &[u16]) {
    for (r, &g) in grads.iter().enumerate() {
        let row = &mut dw[r * columns..(r + 1) * columns];
        for (&j, &x) in idx.iter().zip(vals) {
            let e = &mut row[j as usize];
            *e = s.add(*e, s.mul(g, x));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Format;

    #[test]
    fn exact_fxp16_equals_wrapping_whenever_the_sum_fits() {
        let (idx, vals) = ([0u32, 1, 2, 3], [200u16, 100, 200, 200]);
        let (mut wrapped, mut exact) = ([0u16; 1], [0i64; 1]);
        // 20000 + 20000 + 30000 - 30000 = 40000: past 16 bits, so no word (the RTL's would be
        // 40000 - 65536).
        let overflowing = [100u16, 200, 150, (-150i16) as u16];
        mxv(ExactFxp, &overflowing, 4, &idx, &vals, &mut exact);
        assert_eq!((exact[0], ExactFxp::word(exact[0])), (40000, None));
        // 20000 + 20000 - 30000 = 10000: the wrapped intermediate 40000 comes back, as the
        // RTL's modular arithmetic does, and both give the same word.
        let fitting = [100u16, 200, (-150i16) as u16, 0];
        mxv(Arith(Format::Fxp16), &fitting, 4, &idx, &vals, &mut wrapped);
        mxv(ExactFxp, &fitting, 4, &idx, &vals, &mut exact);
        assert_eq!(ExactFxp::word(exact[0]), Some(wrapped[0]));
        assert_eq!(wrapped[0] as i16, 10000);
    }
}
