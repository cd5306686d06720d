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
//! VXV_SP, one per sequence  B sum_t n_t + VXV_FIXED
//! ```
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

/// The cycles of one tile's instructions: `blocks` = rows / 16 beats per fired column, `fired`
/// the fired columns of each step it runs (no zeros). Per class: (instructions, beats, fixed).
pub fn tile_cycles(blocks: u64, fired: &[u64]) -> [(u64, u64, u64); 3] {
    let steps = fired.len() as u64;
    let beats = blocks * fired.iter().sum::<u64>();
    if steps == 0 {
        return [(0, 0, 0); 3];
    }
    [(steps, beats, MXV_STEP * steps + MXV_TAIL), (steps, beats, MTXV_STEP * steps + MTXV_TAIL), (1, beats, VXV_FIXED)]
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
        let fired: Vec<u64> = tile_steps(activity, &place).iter().map(|(idx, _)| idx.len() as u64).collect();
        let blocks = place.rows.div_ceil(LANES) as u64;
        let padded_rows = blocks * LANES as u64;
        let padded_columns = place.columns.div_ceil(LANES) as u64 * LANES as u64;
        let total: u64 = fired.iter().sum();
        let steps = fired.len() as u64;
        for (class, (instructions, beats, fixed)) in OpClass::ALL.into_iter().zip(tile_cycles(blocks, &fired)) {
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
        // H = 256 rows, 256 steps with 128 fired each.
        let fired = vec![128u64; 256];
        let [mxv, mtxv, vxv] = tile_cycles(16, &fired);
        assert_eq!(mxv, (256, 16 * 128 * 256, 13 * 256 + 13));
        assert_eq!(mtxv.2, 32 * 256 + 13);
        assert_eq!(vxv, (1, 16 * 128 * 256, 26));
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
