//! Dense matrix-matrix products for work that is not sequential in time (the per-frame head),
//! through the `matrixmultiply` crate, behind a safe, bounds-checked interface.
#![allow(unsafe_code)]

use super::Real;

/// A strided matrix view: element (i, j) is `data[i * row_stride + j * col_stride]`.
#[derive(Debug, Clone, Copy)]
pub struct Strided<'a, T> {
    /// The elements.
    pub data: &'a [T],
    /// Step between rows.
    pub row_stride: usize,
    /// Step between columns.
    pub col_stride: usize,
}

/// Mutable twin of [`Strided`].
#[derive(Debug)]
pub struct StridedMut<'a, T> {
    /// The elements.
    pub data: &'a mut [T],
    /// Step between rows.
    pub row_stride: usize,
    /// Step between columns.
    pub col_stride: usize,
}

/// Index of the last element of an (rows x cols) view, or None for an empty view.
fn last_index(rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> Option<usize> {
    if rows == 0 || cols == 0 {
        None
    } else {
        Some((rows - 1) * row_stride + (cols - 1) * col_stride)
    }
}

/// `c = a b + beta c` for a (m, k), b (k, n), c (m, n), in any strides.
///
/// The summation order is the crate's (blocked, with FMA where the CPU has it), so results
/// agree with a sequential sum to round-off only; they are identical from run to run on one
/// machine. Panics if a view is too short for its shape (a bug, not an input error).
#[track_caller]
pub fn gemm<T: Real>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<'_, T>,
    b: Strided<'_, T>,
    beta: T,
    c: StridedMut<'_, T>,
) {
    let fits = |last: Option<usize>, len: usize| last.is_none_or(|i| i < len);
    assert!(fits(last_index(m, k, a.row_stride, a.col_stride), a.data.len()), "a is too short for ({m}, {k})");
    assert!(fits(last_index(k, n, b.row_stride, b.col_stride), b.data.len()), "b is too short for ({k}, {n})");
    assert!(fits(last_index(m, n, c.row_stride, c.col_stride), c.data.len()), "c is too short for ({m}, {n})");
    if m == 0 || n == 0 {
        return;
    }
    T::gemm_raw(m, k, n, a, b, beta, c);
}

/// Per-type entry into `matrixmultiply`; only [`gemm`] calls it, after checking every bound.
pub trait GemmScalar: Sized {
    /// Calls the crate's sgemm or dgemm.
    fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        a: Strided<'_, Self>,
        b: Strided<'_, Self>,
        beta: Self,
        c: StridedMut<'_, Self>,
    );
}

macro_rules! impl_gemm {
    ($t:ty, $f:path) => {
        impl GemmScalar for $t {
            fn gemm_raw(
                m: usize,
                k: usize,
                n: usize,
                a: Strided<'_, $t>,
                b: Strided<'_, $t>,
                beta: $t,
                c: StridedMut<'_, $t>,
            ) {
                let s = |x: usize| x as isize;
                // SAFETY: `gemm` checked that every index the product touches, up to
                // (m-1, k-1), (k-1, n-1) and (m-1, n-1) at the given strides, is inside the slice;
                // `c` is a unique borrow, so it does not overlap `a` or `b`.
                unsafe {
                    $f(
                        m,
                        k,
                        n,
                        1.0,
                        a.data.as_ptr(),
                        s(a.row_stride),
                        s(a.col_stride),
                        b.data.as_ptr(),
                        s(b.row_stride),
                        s(b.col_stride),
                        beta,
                        c.data.as_mut_ptr(),
                        s(c.row_stride),
                        s(c.col_stride),
                    )
                }
            }
        }
    };
}
impl_gemm!(f32, matrixmultiply::sgemm);
impl_gemm!(f64, matrixmultiply::dgemm);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_naive_product_in_mixed_strides() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect(); // row-major
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect(); // column-major
        let mut c = vec![1.0; m * n]; // row-major
        gemm(
            m,
            k,
            n,
            Strided { data: &a, row_stride: k, col_stride: 1 },
            Strided { data: &b, row_stride: 1, col_stride: k },
            0.5,
            StridedMut { data: &mut c, row_stride: n, col_stride: 1 },
        );
        for i in 0..m {
            for j in 0..n {
                let want: f64 = 0.5 + (0..k).map(|p| a[i * k + p] * b[j * k + p]).sum::<f64>();
                assert!((c[i * n + j] - want).abs() < 1e-12);
            }
        }
    }
}
