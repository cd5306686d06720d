//! The RTL's cycles per instruction, as its testbench times them.
//!
//! Measured on the authors' RTL under Verilator (`scripts/rtl-check.sh`; docs/rtl.md has the runs
//! behind every constant) and explained by its structure: the 16-lane PE array does one beat (16
//! rows of one column) per cycle, fed by a DRAM stream of one 16-word beat per cycle, so a fired
//! column costs B = rows / 16 cycles in every class; each instruction adds a fixed cost:
//!
//! ```text
//! MxV_SP, one per step      B n_t + MXV_STEP           (+ MXV_TAIL once per sequence)
//! MTxV_SP, one per step     B n_t + MTXV_STEP          (+ MTXV_TAIL once)
//! VXV_SP, one per sequence  B sum_t n_t + VXV_FIXED + bubbles
//! ```
//!
//! **VXV_SP's bubbles.** VXV_SP accumulates into dW on chip, and the top level stalls a beat
//! whose column index equals that of one of the previous 3 beats (`hist_nzi` in `dtv1.sv`: a
//! read-after-write guard on LMEM_MAC that compares the column only), inserting an empty cycle
//! until it has left the 3 slots. Its beats go block by block, each block over the steps in order and
//! each step's fired columns ascending; so a column that fires in consecutive steps with fewer
//! than 3 other fired columns between costs bubbles. Wide steps never do (the measured 256 x 256
//! runs have none); a 16 x 16 matrix at 90% sparsity loses 4 cycles in 70.
//!
//! The fixed costs include the testbench's gaps between instructions (4 cycles after an MxV_SP,
//! 8 after an MTxV_SP), which a hardware sequencer would replace by its own; they are part of what
//! the RTL's figures mean, so the model keeps them.
//!
//! A layer is run as the tiles of [`super::tiling`]: their cycles add up. A step with no fired
//! column in a tile costs nothing there (it is not issued). Two things tiling needs are assumed
//! free, because the testbench cannot run them: the partial dL/dx sums of MTxV over row blocks
//! (the accumulator lane's `din_buf` input takes a partial sum in) and dW carried across step
//! chunks (LMEM_MAC is simply not cleared).

use super::tile::LANES;
use super::tiling::{places, tile_steps, MatrixActivity};
use crate::sim::{OpClass, SimReport};

/// Fixed cycles of one MxV_SP (one step).
pub const MXV_STEP: u64 = 13;
/// Fixed cycles once per MxV_SP sequence (the last result leaving the pipeline).
pub const MXV_TAIL: u64 = 13;
/// Fixed cycles of one MTxV_SP (one step): the 16-adder chain and the accumulator lane.
pub const MTXV_STEP: u64 = 32;
/// Fixed cycles once per MTxV_SP sequence.
pub const MTXV_TAIL: u64 = 13;
/// Fixed cycles of one VXV_SP (a whole sequence).
pub const VXV_FIXED: u64 = 26;

/// Bytes of one DRAM beat (16 words of 2 bytes).
const BEAT_BYTES: u64 = 2 * LANES as u64;

/// Beats VXV_SP looks back on for a repeated column (the top level's `hist_nzi` depth).
pub const VXV_HAZARD_DEPTH: usize = 3;

/// Cycles of one tile's instructions, per class (MxV_SP, MTxV_SP, VXV_SP): `blocks` = rows / 16
/// beats per fired column, `steps` the fired columns of each step it runs (none empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClassCycles {
    /// Instructions issued.
    pub instructions: u64,
    /// Beats: one fired column of one 16-row block each.
    pub beats: u64,
    /// Fixed cycles of the instructions.
    pub fixed: u64,
    /// Empty cycles from VXV_SP's read-after-write guard.
    pub bubbles: u64,
}

impl ClassCycles {
    /// Every cycle.
    pub fn total(&self) -> u64 {
        self.beats + self.fixed + self.bubbles
    }
}

/// The cycles of one tile (see [`ClassCycles`]).
pub fn tile_cycles(blocks: u64, steps: &[Vec<u32>]) -> [ClassCycles; 3] {
    let n = steps.len() as u64;
    let beats = blocks * steps.iter().map(|s| s.len() as u64).sum::<u64>();
    if n == 0 {
        return [ClassCycles::default(); 3];
    }
    [
        ClassCycles { instructions: n, beats, fixed: MXV_STEP * n + MXV_TAIL, bubbles: 0 },
        ClassCycles { instructions: n, beats, fixed: MTXV_STEP * n + MTXV_TAIL, bubbles: 0 },
        ClassCycles { instructions: 1, beats, fixed: VXV_FIXED, bubbles: vxv_bubbles(blocks, steps) },
    ]
}

/// Empty cycles VXV_SP's guard inserts: its beats in order (blocks, then steps, then fired
/// columns), each waiting until no beat among the previous [`VXV_HAZARD_DEPTH`] slots has its
/// column.
pub fn vxv_bubbles(blocks: u64, steps: &[Vec<u32>]) -> u64 {
    // The last slots' columns (None: a bubble), newest last.
    let mut recent: std::collections::VecDeque<Option<u32>> = std::iter::repeat_n(None, VXV_HAZARD_DEPTH).collect();
    let mut bubbles = 0;
    for _ in 0..blocks {
        for &j in steps.iter().flatten() {
            while recent.contains(&Some(j)) {
                recent.pop_front();
                recent.push_back(None);
                bubbles += 1;
            }
            recent.pop_front();
            recent.push_back(Some(j));
        }
    }
    bubbles
}

/// Counts a layer's training step on the RTL: every tile of `activity`, sparse (only fired
/// columns) or dense (every column fires at every step, through the same sparse instructions;
/// the testbench issues no dense ones).
///
/// Per class: instructions, fired columns, MACs (fired columns x real rows), compute cycles
/// (beats), fixed cycles, and DRAM bytes (weight beats for MxV and MTxV plus their per-step
/// vectors, G_t per step and dW once for VxV, index and value words for every class).
pub fn simulate(activity: &MatrixActivity, dense: bool) -> SimReport {
    let mut report = SimReport { pes: LANES, ..SimReport::default() };
    let dense_activity;
    let activity = if dense {
        dense_activity = MatrixActivity {
            steps: activity
                .steps
                .iter()
                .map(|_| ((0..activity.columns as u32).collect(), vec![1.0; activity.columns]))
                .collect(),
            ..activity.clone()
        };
        &dense_activity
    } else {
        activity
    };
    for place in places(activity) {
        let fired: Vec<Vec<u32>> = tile_steps(activity, &place).into_iter().map(|(idx, _)| idx).collect();
        let blocks = place.rows.div_ceil(LANES) as u64;
        let padded_rows = blocks * LANES as u64;
        let padded_columns = place.columns.div_ceil(LANES) as u64 * LANES as u64;
        let total = fired.iter().map(|s| s.len() as u64).sum::<u64>();
        let steps = fired.len() as u64;
        for (class, cycles) in OpClass::ALL.into_iter().zip(tile_cycles(blocks, &fired)) {
            let ClassCycles { instructions, beats, fixed, bubbles } = cycles;
            let vectors = match class {
                OpClass::Mxv | OpClass::Mtxv => steps * padded_rows * 2,
                OpClass::Vxv => steps * padded_rows * 2 + padded_rows * padded_columns * 2,
            };
            let stats = report.class_mut(class);
            stats.instructions += instructions;
            stats.columns += total;
            stats.macs += total * place.rows as u64;
            stats.compute_cycles += beats;
            stats.overhead_cycles += fixed;
            stats.stall_cycles += bubbles;
            stats.dram_bytes += beats * BEAT_BYTES + vectors + total * 4;
            stats.sram_bytes += beats * BEAT_BYTES;
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authors_setup_costs_sixteen_beats_per_fired_column() {
        // H = 256 rows, 256 steps with 128 fired each (every other column).
        let steps: Vec<Vec<u32>> = (0..256).map(|_| (0..128).map(|j| 2 * j).collect()).collect();
        let [mxv, mtxv, vxv] = tile_cycles(16, &steps);
        assert_eq!((mxv.instructions, mxv.beats, mxv.fixed), (256, 16 * 128 * 256, 13 * 256 + 13));
        assert_eq!(mtxv.fixed, 32 * 256 + 13);
        assert_eq!((vxv.instructions, vxv.fixed, vxv.bubbles), (1, 26, 0));
    }

    #[test]
    fn vxv_waits_for_a_column_repeated_within_three_beats() {
        // Column 5 at steps 0 and 1 back to back: it waits until it has left all 3 slots.
        assert_eq!(vxv_bubbles(1, &[vec![5], vec![5]]), 3);
        // One other column between: two bubbles. Three between: none.
        assert_eq!(vxv_bubbles(1, &[vec![5, 6], vec![5]]), 2);
        assert_eq!(vxv_bubbles(1, &[vec![5, 6, 7, 8], vec![5]]), 0);
        // Per block again: two blocks double the bubbles (the block boundary is clean here).
        assert_eq!(vxv_bubbles(2, &[vec![1, 2, 3, 4], vec![5], vec![5]]), 6);
    }

    #[test]
    fn dense_fires_every_column_and_sparse_skips_steps_with_nothing_fired() {
        let activity =
            MatrixActivity { rows: 32, columns: 20, steps: vec![(vec![1, 7], vec![1.0, 1.0]), (vec![], vec![])] };
        let sparse = simulate(&activity, false);
        let dense = simulate(&activity, true);
        assert_eq!(sparse.class(OpClass::Mxv).instructions, 1);
        assert_eq!(sparse.class(OpClass::Mxv).compute_cycles, 2 * 2);
        assert_eq!(dense.class(OpClass::Mxv).instructions, 2);
        assert_eq!(dense.class(OpClass::Mxv).compute_cycles, 2 * 20 * 2);
        assert_eq!(dense.class(OpClass::Vxv).macs, 2 * 20 * 32);
    }
}
