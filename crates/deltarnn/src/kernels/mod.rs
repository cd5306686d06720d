//! The matrix primitives of the engine, on column-major weights.
//!
//! Two kernels do all the matrix work of a Delta RNN, for any set of columns:
//! [`spmv_forward`] (`acc += W[:, F] * values[F]`) and [`spmv_backward`] (per column `j` in `F`,
//! one pass computing `e_j = W[:, j] . g` and `dW[:, j] += g * values_j`). Dense products are the
//! same kernels over [`AllColumns`], so sparse and dense results agree bit for bit on the columns
//! both visit. Every kernel has a slow, obvious twin in [`reference`](mod@reference), and a baseline compile of
//! its fast body (`*_portable`) that the AVX2 and AVX-512 copies must equal bit for bit.

pub mod gemm;
mod matrix;
mod real;
pub mod reference;
pub(crate) mod simd;

pub use matrix::ColMajor;
pub use real::{exp_f32, sigmoid_f32, tanh_f32, Real};
pub use simd::{avx512_available, wide_available};

use simd::dispatch;

/// A set of column indices a kernel visits, in ascending order.
pub trait Columns: Copy {
    /// How many columns.
    fn count(&self) -> usize;
    /// The `k`-th column index.
    fn index(&self, k: usize) -> usize;
}

/// Every column `0..n`: the dense case.
#[derive(Debug, Clone, Copy)]
pub struct AllColumns(pub usize);

impl Columns for AllColumns {
    #[inline(always)]
    fn count(&self) -> usize {
        self.0
    }
    #[inline(always)]
    fn index(&self, k: usize) -> usize {
        k
    }
}

impl Columns for &[u32] {
    #[inline(always)]
    fn count(&self) -> usize {
        self.len()
    }
    #[inline(always)]
    fn index(&self, k: usize) -> usize {
        self[k] as usize
    }
}

/// Lanes of the partial sums in [`spmv_backward`]: row `r` goes to lane `r % LANES`.
pub const LANES: usize = 8;

dispatch! {
    /// `acc += W[:, F] * values`: adds `values[k] * W[:, columns[k]]` for every listed column,
    /// in ascending column order (so the result equals the dense product bit for bit).
    ///
    /// Shapes: `w` (rows, cols), `values` (columns.count()), `acc` (rows).
    /// Paper: M_t = M_{t-1} + W delta_t over the fired set F_t (spec section 2).
    pub fn spmv_forward / spmv_forward_portable <T: Real, C: Columns>(
        acc: &mut [T], w: &ColMajor<T>, columns: C, values: &[T]
    ) => spmv_forward_body::<lanes>;
}

dispatch! {
    /// Fused backward over the listed columns, one pass per column:
    /// `e[k] = W[:, j] . g` (overwritten) and `dW[:, j] += g * values[k]` (accumulated),
    /// with `j = columns[k]`.
    ///
    /// Shapes: `w` and `dw` (rows, cols), `g` (rows), `values` and `e` (columns.count()).
    /// Paper: `e_j = W[:, j] . G_t` and `dW[:, j] += G_t delta_t[j]` (spec section 3).
    /// The dot products sum in [`LANES`] partial sums (row r into lane r % LANES), then add the
    /// lanes pairwise; [`reference::matvec_transposed`] sums sequentially, so the two agree to
    /// round-off, not bit for bit.
    pub fn spmv_backward / spmv_backward_portable <T: Real, C: Columns>(
        e: &mut [T], dw: &mut ColMajor<T>, w: &ColMajor<T>, g: &[T], columns: C, values: &[T]
    ) => spmv_backward_body;
}

dispatch! {
    /// `e[k] = W[:, j] . g` for `j = columns[k]` (overwritten): the dot-product half of
    /// [`spmv_backward`]. Dense BPTT uses it per step and builds its weight gradients
    /// afterwards as matrix products over the whole sequence ([`crate::nn`]'s dense path).
    ///
    /// Shapes: `w` (rows, cols), `g` (rows), `e` (columns.count()). Each dot product sums in the
    /// same [`LANES`] partial sums and order as [`spmv_backward`], so the two give identical `e`.
    pub fn spmv_transposed / spmv_transposed_portable <T: Real, C: Columns>(
        e: &mut [T], w: &ColMajor<T>, g: &[T], columns: C
    ) => spmv_transposed_body;
}

/// `e = W^T g` over every column. Shapes: `w` (rows, cols), `g` (rows), `e` (cols).
#[track_caller]
pub fn dense_transposed<T: Real>(e: &mut [T], w: &ColMajor<T>, g: &[T]) {
    spmv_transposed(e, w, g, AllColumns(w.cols));
}

/// The baseline compile of [`dense_transposed`].
#[track_caller]
pub fn dense_transposed_portable<T: Real>(e: &mut [T], w: &ColMajor<T>, g: &[T]) {
    spmv_transposed_portable(e, w, g, AllColumns(w.cols));
}

/// `acc += W v` over every column. Shapes: `w` (rows, cols), `v` (cols), `acc` (rows).
#[track_caller]
pub fn dense_forward<T: Real>(acc: &mut [T], w: &ColMajor<T>, v: &[T]) {
    spmv_forward(acc, w, AllColumns(w.cols), v);
}

/// `e = W^T g` (overwritten) and `dW += g v^T` (accumulated) over every column.
/// Shapes: `w`, `dw` (rows, cols), `g` (rows), `v` and `e` (cols).
#[track_caller]
pub fn dense_backward<T: Real>(e: &mut [T], dw: &mut ColMajor<T>, w: &ColMajor<T>, g: &[T], v: &[T]) {
    spmv_backward(e, dw, w, g, AllColumns(w.cols), v);
}

/// `W` is unused: the row loops are plain iterators the compiler vectorises at the width the
/// copy is compiled for (16 lanes with AVX-512), every row's sum in the same order.
#[inline(always)]
#[track_caller]
fn spmv_forward_body<const W: usize, T: Real, C: Columns>(acc: &mut [T], w: &ColMajor<T>, columns: C, values: &[T]) {
    assert_eq!(acc.len(), w.rows, "acc length");
    assert_eq!(values.len(), columns.count(), "values length");
    let n = columns.count();
    let mut k = 0;
    while k + 4 <= n {
        let (c0, c1, c2, c3) = (
            w.col(columns.index(k)),
            w.col(columns.index(k + 1)),
            w.col(columns.index(k + 2)),
            w.col(columns.index(k + 3)),
        );
        let (v0, v1, v2, v3) = (values[k], values[k + 1], values[k + 2], values[k + 3]);
        // Left to right, so the four columns are added in the same order as four single passes.
        for ((((a, &w0), &w1), &w2), &w3) in acc.iter_mut().zip(c0).zip(c1).zip(c2).zip(c3) {
            *a = *a + w0 * v0 + w1 * v1 + w2 * v2 + w3 * v3;
        }
        k += 4;
    }
    while k < n {
        let (col, v) = (w.col(columns.index(k)), values[k]);
        for (a, &wr) in acc.iter_mut().zip(col) {
            *a += wr * v;
        }
        k += 1;
    }
}

#[inline(always)]
#[track_caller]
fn spmv_backward_body<T: Real, C: Columns>(
    e: &mut [T],
    dw: &mut ColMajor<T>,
    w: &ColMajor<T>,
    g: &[T],
    columns: C,
    values: &[T],
) {
    let rows = w.rows;
    assert_eq!(g.len(), rows, "g length");
    assert_eq!((dw.rows, dw.cols), (w.rows, w.cols), "dw shape");
    assert_eq!(values.len(), columns.count(), "values length");
    assert_eq!(e.len(), columns.count(), "e length");
    let n = columns.count();
    let full = rows / LANES * LANES;
    let mut k = 0;
    while k + 4 <= n {
        let idx = [columns.index(k), columns.index(k + 1), columns.index(k + 2), columns.index(k + 3)];
        let v = [values[k], values[k + 1], values[k + 2], values[k + 3]];
        let wc = [w.col(idx[0]), w.col(idx[1]), w.col(idx[2]), w.col(idx[3])];
        let dc = dw.cols4_mut(idx);
        let mut sums = [[T::ZERO; LANES]; 4];
        for r in (0..full).step_by(LANES) {
            // Whole-lane array values, so the compiler keeps them in vector registers.
            let gv = lanes(&g[r..]);
            for q in 0..4 {
                sums[q] = add(sums[q], mul(lanes(&wc[q][r..]), gv));
                let d: &mut [T; LANES] = (&mut dc[q][r..r + LANES]).try_into().expect("LANES elements");
                *d = add(*d, scale(gv, v[q]));
            }
        }
        for q in 0..4 {
            for r in full..rows {
                sums[q][r - full] += wc[q][r] * g[r];
                dc[q][r] += g[r] * v[q];
            }
            e[k + q] = reduce_lanes(&sums[q]);
        }
        k += 4;
    }
    while k < n {
        let j = columns.index(k);
        let v = values[k];
        let wc = w.col(j);
        let dc = dw.col_mut(j);
        let mut sums = [T::ZERO; LANES];
        for r in (0..full).step_by(LANES) {
            let gv = lanes(&g[r..]);
            sums = add(sums, mul(lanes(&wc[r..]), gv));
            let d: &mut [T; LANES] = (&mut dc[r..r + LANES]).try_into().expect("LANES elements");
            *d = add(*d, scale(gv, v));
        }
        for r in full..rows {
            sums[r - full] += wc[r] * g[r];
            dc[r] += g[r] * v;
        }
        e[k] = reduce_lanes(&sums);
        k += 1;
    }
}

#[inline(always)]
#[track_caller]
fn spmv_transposed_body<T: Real, C: Columns>(e: &mut [T], w: &ColMajor<T>, g: &[T], columns: C) {
    let rows = w.rows;
    assert_eq!(g.len(), rows, "g length");
    assert_eq!(e.len(), columns.count(), "e length");
    let n = columns.count();
    let full = rows / LANES * LANES;
    let mut k = 0;
    while k + 4 <= n {
        let wc = [
            w.col(columns.index(k)),
            w.col(columns.index(k + 1)),
            w.col(columns.index(k + 2)),
            w.col(columns.index(k + 3)),
        ];
        let mut sums = [[T::ZERO; LANES]; 4];
        for r in (0..full).step_by(LANES) {
            let gv = lanes(&g[r..]);
            for q in 0..4 {
                sums[q] = add(sums[q], mul(lanes(&wc[q][r..]), gv));
            }
        }
        for q in 0..4 {
            for r in full..rows {
                sums[q][r - full] += wc[q][r] * g[r];
            }
            e[k + q] = reduce_lanes(&sums[q]);
        }
        k += 4;
    }
    while k < n {
        let wc = w.col(columns.index(k));
        let mut sums = [T::ZERO; LANES];
        for r in (0..full).step_by(LANES) {
            sums = add(sums, mul(lanes(&wc[r..]), lanes(&g[r..])));
        }
        for r in full..rows {
            sums[r - full] += wc[r] * g[r];
        }
        e[k] = reduce_lanes(&sums);
        k += 1;
    }
}

dispatch! {
    /// True when every element of `values` is finite. Branch-free over blocks of lanes, so it
    /// vectorises (a scalar early-exit loop cost 5% of a training epoch): `x - x` is 0 for finite
    /// `x` and NaN for infinities and NaN, and a NaN stays NaN through the sums.
    pub fn all_finite / all_finite_portable <T: Real>(values: &[T]) -> bool => all_finite_body::<lanes>;
}

#[inline(always)]
fn all_finite_body<const W: usize, T: Real>(values: &[T]) -> bool {
    let mut sums = [T::ZERO; W];
    let mut blocks = values.chunks_exact(W);
    for block in &mut blocks {
        let v: [T; W] = lanes_n(block);
        for l in 0..W {
            #[allow(clippy::eq_op)] // x - x: 0 when finite, NaN otherwise (the point).
            {
                sums[l] += v[l] - v[l];
            }
        }
    }
    blocks.remainder().iter().all(|v| v.is_finite()) && sums.iter().all(|&s| s == T::ZERO)
}

/// `out[k] = op(input[k])`, `W` elements at a time as array values (so each lane-wise step is
/// one vector instruction), then the tail.
#[inline(always)]
pub fn map_lanes<const W: usize, T: Real>(out: &mut [T], input: &[T], op: impl Fn(T) -> T) {
    assert_eq!(out.len(), input.len(), "map lengths");
    let mut outs = out.chunks_exact_mut(W);
    let mut ins = input.chunks_exact(W);
    for (o, x) in (&mut outs).zip(&mut ins) {
        let x: [T; W] = lanes_n(x);
        let mut y = [T::ZERO; W];
        for l in 0..W {
            y[l] = op(x[l]);
        }
        o.copy_from_slice(&y);
    }
    for (o, &x) in outs.into_remainder().iter_mut().zip(ins.remainder()) {
        *o = op(x);
    }
}

/// `values[k] = op(values[k])` in place, `W` elements at a time, then the tail.
#[inline(always)]
pub fn map_in_place<const W: usize, T: Real>(values: &mut [T], op: impl Fn(T) -> T) {
    let mut blocks = values.chunks_exact_mut(W);
    for block in &mut blocks {
        let x: [T; W] = lanes_n(block);
        let mut y = [T::ZERO; W];
        for l in 0..W {
            y[l] = op(x[l]);
        }
        block.copy_from_slice(&y);
    }
    for v in blocks.into_remainder() {
        *v = op(*v);
    }
}

/// The first `W` elements of `s` as an array value (bodies written over a lane count, see
/// `simd::dispatch`).
#[inline(always)]
pub fn lanes_n<const W: usize, T: Real>(s: &[T]) -> [T; W] {
    s[..W].try_into().expect("W elements")
}

/// The first [`LANES`] elements of `s` as an array value.
#[inline(always)]
pub fn lanes<T: Real>(s: &[T]) -> [T; LANES] {
    s[..LANES].try_into().expect("LANES elements")
}

#[inline(always)]
fn add<T: Real>(a: [T; LANES], b: [T; LANES]) -> [T; LANES] {
    let mut out = a;
    for l in 0..LANES {
        out[l] = a[l] + b[l];
    }
    out
}

#[inline(always)]
fn mul<T: Real>(a: [T; LANES], b: [T; LANES]) -> [T; LANES] {
    let mut out = a;
    for l in 0..LANES {
        out[l] = a[l] * b[l];
    }
    out
}

#[inline(always)]
fn scale<T: Real>(a: [T; LANES], s: T) -> [T; LANES] {
    let mut out = a;
    for l in 0..LANES {
        out[l] = a[l] * s;
    }
    out
}

/// Adds the lanes pairwise: ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)).
#[inline(always)]
fn reduce_lanes<T: Real>(s: &[T; LANES]) -> T {
    ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}
