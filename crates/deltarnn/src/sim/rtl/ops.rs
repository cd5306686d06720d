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
//! Shapes: `weights` is rows x columns stored column by column (`weights[j * rows + r]` is
//! `W[r][j]`, so a fired column's rows are contiguous, as the RTL streams them); `dw` the same;
//! `idx` the fired columns of one step, ascending; `vals` their delta words; `grads` one step's G
//! (rows words). Each output keeps the RTL's order of its own sum; the loops run over
//! independent sums innermost (rows for MxV and VxV, columns for MTxV), so they overlap.

use super::arith::Arith;
use super::tile::LANES;
use crate::kernels::simd::dispatch;

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
    #[inline(always)]
    fn mul(self, a: u16, b: u16) -> u16 {
        Arith::mul(self, a, b)
    }
    #[inline(always)]
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
    #[inline(always)]
    fn mul(self, a: u16, b: u16) -> i64 {
        i64::from(a as i16) * i64::from(b as i16)
    }
    #[inline(always)]
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

dispatch! {
    /// MxV_SP of one step: `out[r] = sum over the fired j, ascending, of W[r][j] x vals` for
    /// every row, starting from an empty sum.
    ///
    /// Shapes: `weights` (rows x columns, column by column), `idx` and `vals` (fired), `out`
    /// (rows).
    pub fn mxv / mxv_portable <S: Sum>(
        s: S, weights: &[u16], rows: usize, idx: &[u32], vals: &[u16], out: &mut [S::Acc]
    ) => mxv_body;
}

dispatch! {
    /// MTxV_SP of one step: `out[k] = sum_r W[r][idx[k]] G[r]` for every fired column, each block
    /// of 16 rows through the adder chain (row 0 of the block first), then the blocks' sums in
    /// order.
    ///
    /// Shapes: `weights` (rows x columns, column by column), `idx` (fired), `grads` (rows, a
    /// multiple of 16), `out` (fired).
    pub fn mtxv / mtxv_portable <S: Sum>(
        s: S, weights: &[u16], rows: usize, idx: &[u32], grads: &[u16], out: &mut [S::Acc]
    ) => mtxv_body;
}

dispatch! {
    /// VXV_SP's contribution of one step to dW, accumulated in place (the steps must come in
    /// ascending order): `dw[r][j] += G[r] x vals` at the fired columns.
    ///
    /// Shapes: `dw` (rows x columns, column by column), `idx` and `vals` (fired), `grads` (rows).
    pub fn vxv_step / vxv_step_portable <S: Sum>(
        s: S, dw: &mut [S::Acc], rows: usize, idx: &[u32], vals: &[u16], grads: &[u16]
    ) => vxv_step_body;
}

#[inline(always)]
fn mxv_body<S: Sum>(s: S, weights: &[u16], rows: usize, idx: &[u32], vals: &[u16], out: &mut [S::Acc]) {
    debug_assert_eq!(out.len(), rows);
    out.fill(s.zero());
    for (&j, &x) in idx.iter().zip(vals) {
        let column = &weights[j as usize * rows..(j as usize + 1) * rows];
        for (o, &w) in out.iter_mut().zip(column) {
            *o = s.add(*o, s.mul(w, x));
        }
    }
}

#[inline(always)]
fn mtxv_body<S: Sum>(s: S, weights: &[u16], rows: usize, idx: &[u32], grads: &[u16], out: &mut [S::Acc]) {
    let fired = idx.len();
    debug_assert_eq!(out.len(), fired);
    // The fired columns' words row by row (`picked[r * fired + k]` = W[r][idx[k]]), so the
    // arithmetic below runs over the fired columns contiguously.
    let mut picked = vec![0u16; rows * fired];
    for (k, &j) in idx.iter().enumerate() {
        for (r, &w) in weights[j as usize * rows..(j as usize + 1) * rows].iter().enumerate() {
            picked[r * fired + k] = w;
        }
    }
    let mut chains = vec![s.zero(); fired];
    out.fill(s.zero());
    for (block, g) in grads.chunks_exact(LANES).enumerate() {
        let row = |lane: usize| &picked[(block * LANES + lane) * fired..(block * LANES + lane + 1) * fired];
        for (c, &w) in chains.iter_mut().zip(row(0)) {
            *c = s.mul(w, g[0]);
        }
        for (lane, &gr) in g.iter().enumerate().skip(1) {
            for (c, &w) in chains.iter_mut().zip(row(lane)) {
                *c = s.add(*c, s.mul(w, gr));
            }
        }
        for (o, &c) in out.iter_mut().zip(&chains) {
            *o = s.add(*o, c);
        }
    }
}

#[inline(always)]
fn vxv_step_body<S: Sum>(s: S, dw: &mut [S::Acc], rows: usize, idx: &[u32], vals: &[u16], grads: &[u16]) {
    for (&j, &x) in idx.iter().zip(vals) {
        let column = &mut dw[j as usize * rows..(j as usize + 1) * rows];
        for (e, &g) in column.iter_mut().zip(grads) {
            *e = s.add(*e, s.mul(g, x));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::sim::numeric::bf16_from_f32;
    use crate::sim::Format;

    /// The plain twins: one output at a time, straight from the RTL's description, on a
    /// row-major matrix (`weights[r * columns + j]`).
    fn plain_mxv(a: Arith, weights: &[u16], columns: usize, idx: &[u32], vals: &[u16], row: usize) -> u16 {
        let mut acc = Arith::ZERO;
        for (&j, &x) in idx.iter().zip(vals) {
            acc = a.add(acc, a.mul(weights[row * columns + j as usize], x));
        }
        acc
    }

    fn plain_mtxv(a: Arith, weights: &[u16], columns: usize, j: usize, grads: &[u16]) -> u16 {
        let mut acc = Arith::ZERO;
        for (block, g) in grads.chunks_exact(LANES).enumerate() {
            let mut chain = a.mul(weights[block * LANES * columns + j], g[0]);
            for (lane, &gr) in g.iter().enumerate().skip(1) {
                chain = a.add(chain, a.mul(weights[(block * LANES + lane) * columns + j], gr));
            }
            acc = a.add(acc, chain);
        }
        acc
    }

    #[test]
    fn the_dispatched_and_portable_products_equal_their_plain_twins_word_for_word() {
        let mut rng = Rng::seed(11);
        let (rows, columns, steps) = (48, 37, 6);
        for format in [Format::Bf16, Format::Fxp16] {
            let a = Arith(format);
            let mut word = || match format {
                Format::Bf16 => bf16_from_f32((rng.normal() * 0.5) as f32),
                Format::Fxp16 => (rng.below(1 << 16)) as u16,
            };
            let by_row: Vec<u16> = (0..rows * columns).map(|_| word()).collect();
            let by_column: Vec<u16> = (0..columns * rows).map(|i| by_row[(i % rows) * columns + i / rows]).collect();
            let mut dw = vec![Arith::ZERO; rows * columns];
            let mut plain_dw = vec![Arith::ZERO; rows * columns];
            let mut dw_portable = vec![Arith::ZERO; rows * columns];
            let mut rng = Rng::seed(12);
            for _ in 0..steps {
                let idx: Vec<u32> = (0..columns as u32).filter(|_| rng.uniform() < 0.4).collect();
                let vals: Vec<u16> = idx.iter().map(|_| (rng.next_u64() as u16) & 0xBFFF).collect();
                let grads: Vec<u16> = (0..rows).map(|_| (rng.next_u64() as u16) & 0xBFFF).collect();
                let (mut m, mut m_portable) = (vec![Arith::ZERO; rows], vec![Arith::ZERO; rows]);
                mxv(a, &by_column, rows, &idx, &vals, &mut m);
                mxv_portable(a, &by_column, rows, &idx, &vals, &mut m_portable);
                for (r, (&got, &portable)) in m.iter().zip(&m_portable).enumerate() {
                    let want = plain_mxv(a, &by_row, columns, &idx, &vals, r);
                    assert_eq!((got, portable), (want, want), "{format:?} MxV row {r}");
                }
                let (mut e, mut e_portable) = (vec![Arith::ZERO; idx.len()], vec![Arith::ZERO; idx.len()]);
                mtxv(a, &by_column, rows, &idx, &grads, &mut e);
                mtxv_portable(a, &by_column, rows, &idx, &grads, &mut e_portable);
                for ((&j, &got), &portable) in idx.iter().zip(&e).zip(&e_portable) {
                    let want = plain_mtxv(a, &by_row, columns, j as usize, &grads);
                    assert_eq!((got, portable), (want, want), "{format:?} MTxV column {j}");
                }
                vxv_step(a, &mut dw, rows, &idx, &vals, &grads);
                vxv_step_portable(a, &mut dw_portable, rows, &idx, &vals, &grads);
                for (&j, &x) in idx.iter().zip(&vals) {
                    for (r, &g) in grads.iter().enumerate() {
                        let e = &mut plain_dw[r * columns + j as usize];
                        *e = a.add(*e, a.mul(g, x));
                    }
                }
            }
            for r in 0..rows {
                for j in 0..columns {
                    let want = plain_dw[r * columns + j];
                    assert_eq!((dw[j * rows + r], dw_portable[j * rows + r]), (want, want), "{format:?} dW[{r}][{j}]");
                }
            }
        }
    }

    #[test]
    fn exact_fxp16_equals_wrapping_whenever_the_sum_fits() {
        let (idx, vals) = ([0u32, 1, 2, 3], [200u16, 100, 200, 200]);
        let (mut wrapped, mut exact) = ([0u16; 1], [0i64; 1]);
        // 20000 + 20000 + 30000 - 30000 = 40000: past 16 bits, so no word (the RTL's would be
        // 40000 - 65536).
        let overflowing = [100u16, 200, 150, (-150i16) as u16];
        mxv(ExactFxp, &overflowing, 1, &idx, &vals, &mut exact);
        assert_eq!((exact[0], ExactFxp::word(exact[0])), (40000, None));
        // 20000 + 20000 - 30000 = 10000: the wrapped intermediate 40000 comes back, as the
        // RTL's modular arithmetic does, and both give the same word.
        let fitting = [100u16, 200, (-150i16) as u16, 0];
        mxv(Arith(Format::Fxp16), &fitting, 1, &idx, &vals, &mut wrapped);
        mxv(ExactFxp, &fitting, 1, &idx, &vals, &mut exact);
        assert_eq!(ExactFxp::word(exact[0]), Some(wrapped[0]));
        assert_eq!(wrapped[0] as i16, 10000);
    }
}
