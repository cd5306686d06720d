//! Slow, obvious twins of the fast kernels. Tests compare the fast paths against these.
#![allow(clippy::needless_range_loop)] // Index loops mirror the math here.

use super::{ColMajor, Real};

/// `acc += W x`, every column, row by row in ascending column order.
/// Shapes: `w` (rows, cols), `x` (cols), `acc` (rows).
pub fn matvec_acc<T: Real>(acc: &mut [T], w: &ColMajor<T>, x: &[T]) {
    assert_eq!(acc.len(), w.rows);
    assert_eq!(x.len(), w.cols);
    for r in 0..w.rows {
        for c in 0..w.cols {
            acc[r] += w.data[c * w.rows + r] * x[c];
        }
    }
}

/// `e = W^T g`, each entry summed sequentially over rows.
/// Shapes: `w` (rows, cols), `g` (rows), `e` (cols).
pub fn matvec_transposed<T: Real>(e: &mut [T], w: &ColMajor<T>, g: &[T]) {
    assert_eq!(e.len(), w.cols);
    assert_eq!(g.len(), w.rows);
    for c in 0..w.cols {
        let mut sum = T::ZERO;
        for r in 0..w.rows {
            sum += w.data[c * w.rows + r] * g[r];
        }
        e[c] = sum;
    }
}

/// `dW += g x^T`. Shapes: `dw` (rows, cols), `g` (rows), `x` (cols).
pub fn outer_acc<T: Real>(dw: &mut ColMajor<T>, g: &[T], x: &[T]) {
    assert_eq!(g.len(), dw.rows);
    assert_eq!(x.len(), dw.cols);
    for c in 0..dw.cols {
        for r in 0..dw.rows {
            dw.data[c * dw.rows + r] += g[r] * x[c];
        }
    }
}
