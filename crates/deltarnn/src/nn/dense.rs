//! The parts of dense BPTT that are not sequential in time, as matrix-matrix products over the
//! whole sequence (`matrixmultiply`), so "Delta against dense" is measured against our fastest
//! dense code: the input projection of the forward pass, both weight gradients and the input
//! gradient. Only the recurrent products (`W_h h_{t-1}` forward, `W_h^T g_t` backward) stay
//! per step. A Delta layer uses them too, for a matrix whose inputs mostly fired over the
//! sequence (the matrix product form, [`super::MATRIX_PRODUCT_FROM`]): over zero-filled deltas
//! and reference states, so it multiplies that matrix's unfired columns as well, counted as
//! executed work in [`crate::cost::OpCount::executed_macs`]; [`super::Mode::DeltaPerColumn`]
//! never does.

use crate::kernels::gemm::{gemm, Strided, StridedMut};
use crate::kernels::{ColMajor, Real};

/// `out (T, R) = X (T, F) W^T`: the input part of every step's memory.
///
/// Shapes: `w` (R, F) column-major, `inputs` (T, F) row-major, `out` (T, R) row-major, overwritten.
#[track_caller]
pub fn input_projection<T: Real>(out: &mut [T], w: &ColMajor<T>, inputs: &[T], steps: usize) {
    let (rows, f) = (w.rows, w.cols);
    assert_eq!(out.len(), steps * rows, "projection length");
    gemm(
        steps,
        f,
        rows,
        Strided { data: inputs, row_stride: f, col_stride: 1 },
        Strided { data: &w.data, row_stride: rows, col_stride: 1 },
        T::ZERO,
        StridedMut { data: out, row_stride: rows, col_stride: 1 },
    );
}

/// `dW (R, C) += G^T V`: the weight gradient summed over `steps` steps.
///
/// Shapes: `dw` (R, C) column-major; `g` holds step `t`'s R gate gradients at
/// `g[t * g_stride..][..R]`; `v` (steps, C) row-major holds the vector each step multiplied.
#[track_caller]
pub fn weight_gradient<T: Real>(dw: &mut ColMajor<T>, g: &[T], g_stride: usize, v: &[T], steps: usize) {
    let (rows, cols) = (dw.rows, dw.cols);
    assert!(v.len() >= steps * cols, "v is shorter than ({steps}, {cols})");
    gemm(
        rows,
        steps,
        cols,
        Strided { data: g, row_stride: 1, col_stride: g_stride },
        Strided { data: v, row_stride: cols, col_stride: 1 },
        T::ONE,
        StridedMut { data: &mut dw.data, row_stride: 1, col_stride: rows },
    );
}

/// `dX (T, F) = G W`: dL/dx_t for every step, overwritten.
///
/// Shapes: `w` (R, F) column-major; `g` holds step `t`'s R gate gradients at `g[t * g_stride..]`;
/// `dx` (T, F) row-major.
#[track_caller]
pub fn input_gradient<T: Real>(dx: &mut [T], w: &ColMajor<T>, g: &[T], g_stride: usize, steps: usize) {
    let (rows, f) = (w.rows, w.cols);
    assert_eq!(dx.len(), steps * f, "dx length");
    gemm(
        steps,
        rows,
        f,
        Strided { data: g, row_stride: g_stride, col_stride: 1 },
        Strided { data: &w.data, row_stride: 1, col_stride: rows },
        T::ZERO,
        StridedMut { data: dx, row_stride: f, col_stride: 1 },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::reference;

    fn matrix(rows: usize, cols: usize, seed: f64) -> ColMajor<f64> {
        let mut w = ColMajor::zeros(rows, cols);
        w.data.iter_mut().enumerate().for_each(|(i, v)| *v = (i as f64 * seed).sin());
        w
    }

    #[test]
    fn products_equal_per_step_references() {
        let (steps, rows, f, stride) = (7, 12, 5, 15);
        let w = matrix(rows, f, 0.37);
        let inputs: Vec<f64> = (0..steps * f).map(|i| (i as f64 * 0.11).cos()).collect();
        let g: Vec<f64> = (0..steps * stride).map(|i| (i as f64 * 0.23).sin()).collect();

        let mut proj = vec![0.0; steps * rows];
        input_projection(&mut proj, &w, &inputs, steps);
        let mut dw = matrix(rows, f, 0.05);
        let mut dw_want = dw.clone();
        weight_gradient(&mut dw, &g, stride, &inputs, steps);
        let mut dx = vec![0.0; steps * f];
        input_gradient(&mut dx, &w, &g, stride, steps);

        for t in 0..steps {
            let (x_t, g_t) = (&inputs[t * f..(t + 1) * f], &g[t * stride..t * stride + rows]);
            let mut want = vec![0.0; rows];
            reference::matvec_acc(&mut want, &w, x_t);
            let mut e = vec![0.0; f];
            reference::matvec_transposed(&mut e, &w, g_t);
            reference::outer_acc(&mut dw_want, g_t, x_t);
            for r in 0..rows {
                assert!((proj[t * rows + r] - want[r]).abs() < 1e-12);
            }
            for j in 0..f {
                assert!((dx[t * f + j] - e[j]).abs() < 1e-12);
            }
        }
        for (a, b) in dw.data.iter().zip(&dw_want.data) {
            assert!((a - b).abs() < 1e-12);
        }
    }
}
