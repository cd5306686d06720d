//! Column-major matrices: one fired input index is one contiguous column.

use super::Real;

/// A dense matrix stored column by column: element (r, c) is `data[c * rows + r]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ColMajor<T> {
    /// Number of rows (the output length of `W v`).
    pub rows: usize,
    /// Number of columns (the input length of `W v`).
    pub cols: usize,
    /// `rows * cols` elements, column after column.
    pub data: Vec<T>,
}

impl<T: Real> ColMajor<T> {
    /// A matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        ColMajor { rows, cols, data: vec![T::ZERO; rows * cols] }
    }

    /// Builds a matrix from a row-major buffer (PyTorch's layout for `(rows, cols)` weights).
    #[track_caller]
    pub fn from_row_major(rows: usize, cols: usize, row_major: &[T]) -> Self {
        assert_eq!(row_major.len(), rows * cols, "row-major buffer length");
        let mut m = Self::zeros(rows, cols);
        for r in 0..rows {
            for c in 0..cols {
                m.data[c * rows + r] = row_major[r * cols + c];
            }
        }
        m
    }

    /// The elements in row-major order (PyTorch's layout).
    pub fn to_row_major(&self) -> Vec<T> {
        let mut out = vec![T::ZERO; self.rows * self.cols];
        for c in 0..self.cols {
            for r in 0..self.rows {
                out[r * self.cols + c] = self.data[c * self.rows + r];
            }
        }
        out
    }

    /// Element (r, c).
    #[inline]
    pub fn get(&self, r: usize, c: usize) -> T {
        self.data[c * self.rows + r]
    }

    /// Column `c`, contiguous.
    #[inline(always)]
    pub fn col(&self, c: usize) -> &[T] {
        &self.data[c * self.rows..(c + 1) * self.rows]
    }

    /// Column `c`, contiguous and mutable.
    #[inline(always)]
    pub fn col_mut(&mut self, c: usize) -> &mut [T] {
        &mut self.data[c * self.rows..(c + 1) * self.rows]
    }

    /// Four distinct columns, mutable at once. `idx` must be strictly increasing.
    #[inline(always)]
    pub fn cols4_mut(&mut self, idx: [usize; 4]) -> [&mut [T]; 4] {
        let rows = self.rows;
        debug_assert!(idx[0] < idx[1] && idx[1] < idx[2] && idx[2] < idx[3]);
        let (head, rest) = self.data.split_at_mut(idx[1] * rows);
        let (c1, rest) = rest.split_at_mut((idx[2] - idx[1]) * rows);
        let (c2, c3) = rest.split_at_mut((idx[3] - idx[2]) * rows);
        let c0 = &mut head[idx[0] * rows..(idx[0] + 1) * rows];
        [c0, &mut c1[..rows], &mut c2[..rows], &mut c3[..rows]]
    }

    /// Converts every element to another precision.
    pub fn cast<U: Real>(&self) -> ColMajor<U> {
        ColMajor {
            rows: self.rows,
            cols: self.cols,
            data: self.data.iter().map(|&x| U::from_f64(x.to_f64())).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_major_round_trip_and_layout() {
        let rm: Vec<f32> = (0..6).map(|i| i as f32).collect(); // [[0,1,2],[3,4,5]]
        let m = ColMajor::from_row_major(2, 3, &rm);
        assert_eq!(m.data, vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        assert_eq!(m.col(1), &[1.0, 4.0]);
        assert_eq!(m.get(1, 2), 5.0);
        assert_eq!(m.to_row_major(), rm);
    }

    #[test]
    fn four_columns_at_once() {
        let mut m = ColMajor::<f64>::zeros(3, 9);
        let [a, b, c, d] = m.cols4_mut([1, 2, 5, 8]);
        a[0] = 1.0;
        b[1] = 2.0;
        c[2] = 3.0;
        d[0] = 4.0;
        assert_eq!(m.get(0, 1), 1.0);
        assert_eq!(m.get(1, 2), 2.0);
        assert_eq!(m.get(2, 5), 3.0);
        assert_eq!(m.get(0, 8), 4.0);
    }
}
