//! One matrix tile of a training step as the authors' RTL runs it: the inputs of its three sparse
//! instructions, the values they produce (computed in the RTL's arithmetic and order), and the
//! testbench's input files.
//!
//! A tile is a `rows x columns` weight matrix W (rows and columns multiples of 16, at most 256:
//! the RTL's `MAX_N`), T <= 256 steps (`MAX_M`) each with 1 to `columns` fired columns (a step
//! with none cannot be encoded), the fired deltas x_t, and the gradients G_t (T x rows). Its
//! instructions, per the testbench: `MxV_SP` per step t ascending, M_t = W x_t over the fired
//! columns; `MTxV_SP` per step t descending, dL/dx_t(j) = W(:, j) . G_t for the fired j;
//! `VXV_SP` once, dW = sum_t G_t x_t^T over the fired columns.
//!
//! **Order of accumulation** (it matters in BF16; [`super::arith`]): `MxV_SP` accumulates each
//! row over the fired columns in ascending index; `MTxV_SP` reduces each block of 16 rows through
//! an adder chain (row 0 of the block first) and adds the blocks' sums in order; `VXV_SP`
//! accumulates each dW entry over the steps in ascending t.

use super::arith::Arith;
use super::ops;
use crate::sim::Format;
use crate::{Error, Result};
use std::path::Path;

/// Rows of one PE-array beat (the RTL's `NUM_PE`).
pub const LANES: usize = 16;
/// Most rows or columns of one instruction (the RTL's `MAX_N`).
pub const MAX_WIDTH: usize = 256;
/// Most steps of one instruction sequence (the RTL's `MAX_M`).
pub const MAX_STEPS: usize = 256;

/// The inputs of one tile, as raw words of its format.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    /// Number format of every word.
    pub format: Format,
    /// Weight rows (a multiple of 16, at most 256).
    pub rows: usize,
    /// Weight columns (a multiple of 16, at most 256).
    pub columns: usize,
    /// W, rows x columns, row-major.
    pub weights: Vec<u16>,
    /// Per step: the fired columns, ascending, and their deltas.
    pub steps: Vec<(Vec<u16>, Vec<u16>)>,
    /// G_t, steps x rows, row-major.
    pub grads: Vec<u16>,
}

/// What a tile's three instructions produce.
#[derive(Debug, Clone, PartialEq)]
pub struct TileOutputs {
    /// M_t = W x_t, steps x rows.
    pub m: Vec<u16>,
    /// dL/dx_t, steps x columns, zero where nothing fired.
    pub dx: Vec<u16>,
    /// dW, rows x columns.
    pub dw: Vec<u16>,
}

impl Tile {
    /// Checks the shape against the RTL's limits; the error names the limit and the value.
    pub fn validate(&self) -> Result<()> {
        for (what, n) in [("rows", self.rows), ("columns", self.columns)] {
            if n == 0 || n % LANES != 0 || n > MAX_WIDTH {
                return Err(Error::Invalid(format!(
                    "an RTL tile's {what} must be a multiple of {LANES} from {LANES} to {MAX_WIDTH}, got {n}"
                )));
            }
        }
        let t = self.steps.len();
        if t == 0 || t > MAX_STEPS {
            return Err(Error::Invalid(format!("an RTL tile needs 1 to {MAX_STEPS} steps, got {t}")));
        }
        if self.weights.len() != self.rows * self.columns || self.grads.len() != t * self.rows {
            return Err(Error::Invalid(format!(
                "tile data do not match its shape {} x {} over {t} steps: {} weights, {} gradients",
                self.rows,
                self.columns,
                self.weights.len(),
                self.grads.len()
            )));
        }
        for (step, (idx, val)) in self.steps.iter().enumerate() {
            if idx.len() >= MAX_WIDTH {
                return Err(Error::Invalid(format!(
                    "step {step} of an RTL tile fires {} columns; the RTL computes at most {} per step \
                     correctly (docs/rtl.md)",
                    idx.len(),
                    MAX_WIDTH - 1
                )));
            }
            if idx.is_empty() || idx.len() != val.len() {
                return Err(Error::Invalid(format!(
                    "step {step} of an RTL tile has {} fired columns and {} values (the RTL needs at least one)",
                    idx.len(),
                    val.len()
                )));
            }
            if idx.windows(2).any(|w| w[0] >= w[1]) || usize::from(*idx.last().unwrap()) >= self.columns {
                return Err(Error::Invalid(format!(
                    "step {step} of an RTL tile: fired columns must ascend and be below {}",
                    self.columns
                )));
            }
        }
        Ok(())
    }

    /// The tile with one more step in which every column fires (at most 255 of them: the first
    /// 255 of a 256-wide tile) with zero deltas and zero gradients: it leaves M, dL/dx and dW as
    /// they were, but makes VXV_SP write out dW at every column it fired (the RTL writes only the
    /// columns of the last step), so the testbench checks all of dW. It costs the extra step's
    /// cycles.
    pub fn with_dw_readout(mut self) -> Tile {
        let n = self.columns.min(MAX_WIDTH - 1);
        self.steps.push(((0..n as u16).collect(), vec![Arith::ZERO; n]));
        self.grads.extend(std::iter::repeat_n(Arith::ZERO, self.rows));
        self
    }

    /// Fired columns over all steps.
    pub fn fired(&self) -> usize {
        self.steps.iter().map(|(idx, _)| idx.len()).sum()
    }

    /// The three instructions' outputs, in the RTL's arithmetic and order (module docs; the
    /// products are [`super::ops`]'s).
    pub fn outputs(&self) -> TileOutputs {
        let a = Arith(self.format);
        let (rows, cols, steps) = (self.rows, self.columns, self.steps.len());
        let weights = transpose(&self.weights, rows, cols);
        let mut m = vec![Arith::ZERO; steps * rows];
        let mut dx = vec![Arith::ZERO; steps * cols];
        let mut dw = vec![Arith::ZERO; rows * cols];
        let mut e = Vec::new();
        for (t, (idx, val)) in self.steps.iter().enumerate() {
            let idx: Vec<u32> = idx.iter().map(|&j| u32::from(j)).collect();
            let g = &self.grads[t * rows..(t + 1) * rows];
            ops::mxv(a, &weights, rows, &idx, val, &mut m[t * rows..(t + 1) * rows]);
            e.resize(idx.len(), Arith::ZERO);
            ops::mtxv(a, &weights, rows, &idx, g, &mut e);
            for (&j, &ej) in idx.iter().zip(&e) {
                dx[t * cols + j as usize] = ej;
            }
            ops::vxv_step(a, &mut dw, rows, &idx, val, g);
        }
        TileOutputs { m, dx, dw: transpose(&dw, cols, rows) }
    }

    /// Writes the testbench's input files into `dir` (created), sample 0 of layer 1, in the
    /// layout of the authors' `gen_rnd_data_rnn.py` (big-endian 16-bit words; docs/rtl.md):
    /// `x_del_nzp` (step descriptors), `x_del_nzl` (fired indices then values), `Wx` and the
    /// expected `Mx`, `dL_dMx` (the gradients), `dL_ddx`, `dL_dWx`. Each file is written whole
    /// or not at all.
    pub fn write_testbench_files(&self, dir: &Path, outputs: &TileOutputs) -> Result<()> {
        self.validate()?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let (rows, cols, steps) = (self.rows, self.columns, self.steps.len());
        let write = |name: &str, words: &[u16]| -> Result<()> {
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
            crate::files::write_atomic(&dir.join(name), &bytes)
        };
        // Descriptors: u16 T, then per step u32 {LHA[23:12], LHP[11:8], count[7:0]} where
        // head = fired before t = 16 LHA + LHP (a count of 256 reads as 0; the patch takes it).
        let mut nzp = vec![steps as u16];
        let mut head = 0usize;
        for (idx, _) in &self.steps {
            let word = ((head / LANES) << 12) as u32 | (((head % LANES) as u32) << 8) | (idx.len() as u32 & 0xFF);
            nzp.extend([(word >> 16) as u16, word as u16]);
            head += idx.len();
        }
        write("x_del_nzp_l1_s0.dat", &nzp)?;
        let mut nzl: Vec<u16> = self.steps.iter().flat_map(|(idx, _)| idx.iter().copied()).collect();
        nzl.extend(self.steps.iter().flat_map(|(_, val)| val.iter().copied()));
        write("x_del_nzl_l1_s0.dat", &nzl)?;
        // Matrices as (rows / 16, columns, 16): one 16-word DRAM beat per block and column.
        write("Wx_l1.dat", &blocked(&self.weights, rows, cols))?;
        write("dL_dWx_l1_s0.dat", &blocked(&outputs.dw, rows, cols))?;
        // Per-step vectors as (width / 16, steps, 16).
        write("Mx_l1_s0.dat", &blocked_steps(&outputs.m, steps, rows))?;
        write("dL_dMx_l1_s0.dat", &blocked_steps(&self.grads, steps, rows))?;
        write("dL_ddx_l1_s0.dat", &blocked_steps(&outputs.dx, steps, cols))
    }
}

/// The transpose of a rows x columns row-major matrix (its column-by-column storage).
pub(crate) fn transpose(a: &[u16], rows: usize, cols: usize) -> Vec<u16> {
    (0..cols).flat_map(|j| (0..rows).map(move |r| a[r * cols + j])).collect()
}

/// A rows x columns row-major matrix as (rows / 16, columns, 16): `[b][j][l] = a[16 b + l][j]`.
fn blocked(a: &[u16], rows: usize, cols: usize) -> Vec<u16> {
    let mut out = Vec::with_capacity(a.len());
    for block in 0..rows / LANES {
        for j in 0..cols {
            out.extend((0..LANES).map(|l| a[(block * LANES + l) * cols + j]));
        }
    }
    out
}

/// A steps x width row-major matrix as (width / 16, steps, 16): `[b][t][l] = a[t][16 b + l]`.
fn blocked_steps(a: &[u16], steps: usize, width: usize) -> Vec<u16> {
    let mut out = Vec::with_capacity(a.len());
    for block in 0..width / LANES {
        for t in 0..steps {
            out.extend_from_slice(&a[t * width + block * LANES..t * width + (block + 1) * LANES]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small FXP16 tile of small integers (no wrap-around), with two steps.
    fn small_tile() -> Tile {
        let (rows, columns) = (16, 32);
        let weights = (0..rows * columns).map(|i| ((i % 7) as i16 - 3) as u16).collect();
        let grads = (0..2 * rows).map(|i| ((i % 5) as i16 - 2) as u16).collect();
        let steps = vec![(vec![1, 4, 31], vec![2u16, (-1i16) as u16, 3]), (vec![4], vec![5])];
        Tile { format: Format::Fxp16, rows, columns, weights, steps, grads }
    }

    #[test]
    fn fxp16_outputs_equal_integer_matrix_products() {
        let tile = small_tile();
        let out = tile.outputs();
        let w = |r: usize, j: usize| tile.weights[r * 32 + j] as i16 as i64;
        let g = |t: usize, r: usize| tile.grads[t * 16 + r] as i16 as i64;
        for (t, (idx, val)) in tile.steps.iter().enumerate() {
            for r in 0..16 {
                let want: i64 = idx.iter().zip(val).map(|(&j, &x)| w(r, j.into()) * x as i16 as i64).sum();
                assert_eq!(out.m[t * 16 + r] as i16 as i64, want);
            }
            for j in 0..32 {
                let want: i64 = if idx.contains(&(j as u16)) { (0..16).map(|r| w(r, j) * g(t, r)).sum() } else { 0 };
                assert_eq!(out.dx[t * 32 + j] as i16 as i64, want, "t {t} j {j}");
            }
        }
        // dW[r][4] = G_0[r] (-1) + G_1[r] 5.
        for r in 0..16 {
            assert_eq!(out.dw[r * 32 + 4] as i16 as i64, -g(0, r) + 5 * g(1, r));
        }
    }

    #[test]
    fn blocked_layouts_put_sixteen_rows_per_beat() {
        let a: Vec<u16> = (0..32 * 2).map(|i| i as u16).collect(); // 32 rows x 2 columns
        let b = blocked(&a, 32, 2);
        assert_eq!(&b[..16], &(0..16).map(|l| (l * 2) as u16).collect::<Vec<_>>()[..]);
        assert_eq!(b[16], 1); // block 0, column 1, lane 0 = a[0][1]
        assert_eq!(b[32], 32); // block 1, column 0, lane 0 = a[16][0]
        let s = blocked_steps(&a, 2, 32); // 2 steps x 32 wide
        assert_eq!(s[16], 32); // block 0, step 1, lane 0 = a[1][0]
        assert_eq!(s[32], 16); // block 1, step 0, lane 0 = a[0][16]
    }

    #[test]
    fn tiles_beyond_the_rtl_limits_are_refused() {
        let mut tile = small_tile();
        tile.rows = 272;
        assert!(tile
            .validate()
            .unwrap_err()
            .to_string()
            .contains("rows must be a multiple of 16 from 16 to 256, got 272"));
        let mut tile = small_tile();
        tile.rows = 256;
        tile.columns = 256;
        tile.weights = vec![0; 256 * 256];
        tile.grads = vec![0; 2 * 256];
        tile.steps[0] = ((0..256).collect(), vec![1; 256]);
        assert!(tile.validate().unwrap_err().to_string().contains("fires 256 columns"));
        let mut tile = small_tile();
        tile.steps[1] = (vec![], vec![]);
        assert!(tile.validate().unwrap_err().to_string().contains("at least one"));
        let mut tile = small_tile();
        tile.steps = vec![(vec![0], vec![1]); 257];
        tile.grads = vec![0; 257 * 16];
        assert!(tile.validate().unwrap_err().to_string().contains("1 to 256 steps, got 257"));
    }

    #[test]
    fn the_dw_readout_step_changes_no_output() {
        let tile = small_tile();
        let (before, after) = (tile.outputs(), tile.clone().with_dw_readout().outputs());
        assert_eq!(after.dw, before.dw);
        assert_eq!(&after.m[..before.m.len()], &before.m[..]);
        assert!(after.m[before.m.len()..].iter().all(|&w| w == 0));
        let mut bf16 = small_tile();
        bf16.format = Format::Bf16;
        bf16.weights.iter_mut().for_each(|w| *w = crate::sim::numeric::bf16_from_f32(*w as i16 as f32));
        bf16.grads.iter_mut().for_each(|w| *w = crate::sim::numeric::bf16_from_f32(*w as i16 as f32));
        let (before, after) = (bf16.outputs(), bf16.clone().with_dw_readout().outputs());
        assert_eq!(after.dw, before.dw);
    }

    #[test]
    fn testbench_files_have_the_generators_layout() {
        let tile = small_tile();
        let dir = tempfile::tempdir().unwrap();
        tile.write_testbench_files(dir.path(), &tile.outputs()).unwrap();
        let nzp = std::fs::read(dir.path().join("x_del_nzp_l1_s0.dat")).unwrap();
        // T = 2; step 0: head 0, 3 fired; step 1: head 3 (LHA 0, LHP 3), 1 fired.
        assert_eq!(nzp, [0, 2, 0, 0, 0, 3, 0, 0, 3, 1]);
        let nzl = std::fs::read(dir.path().join("x_del_nzl_l1_s0.dat")).unwrap();
        assert_eq!(nzl.len(), 2 * 8);
        assert_eq!(&nzl[..8], &[0, 1, 0, 4, 0, 31, 0, 4]);
        assert_eq!(std::fs::read(dir.path().join("Wx_l1.dat")).unwrap().len(), 16 * 32 * 2);
        assert_eq!(std::fs::read(dir.path().join("dL_ddx_l1_s0.dat")).unwrap().len(), 2 * 32 * 2);
    }
}
