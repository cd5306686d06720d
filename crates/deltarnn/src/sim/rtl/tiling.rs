//! Cutting a layer's training step into instructions the RTL accepts.
//!
//! The RTL's instructions take at most 256 rows, 256 columns and 256 steps, a step with no fired
//! column cannot be encoded, and a step with all 256 fired comes out wrong (its count is an 8-bit
//! field: measured, docs/rtl.md), so a 256-column block where some step fires everything is cut
//! into two of 128. A layer (rows R = gates x H, columns N = F + H over the
//! combined [x; h] delta, T steps) becomes tiles: row blocks of at most 256 rows, column blocks of
//! at most 256 columns, step chunks of at most 256 steps, each padded to a multiple of 16 rows
//! and columns (padding columns never fire, padding rows cost their beats as in hardware). A
//! tile keeps only the steps where one of its columns fired; the others are skipped, as a
//! sequencer that reads the descriptors would skip them.
//!
//! What tiling adds beyond the tiles' own instructions is counted in [`super::cycles`]; the
//! testbench runs each tile on its own.

use super::tile::{Tile, LANES, MAX_STEPS, MAX_WIDTH};
use crate::delta::ActivityTrace;
use crate::kernels::Real;
use crate::rng::Rng;
use crate::sim::numeric::Quantized;
use crate::sim::Format;

/// Where a tile sits in its layer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TilePlace {
    /// First layer row of the tile.
    pub row0: usize,
    /// Layer rows in the tile (before padding).
    pub rows: usize,
    /// First layer column of the tile.
    pub column0: usize,
    /// Layer columns in the tile (before padding).
    pub columns: usize,
    /// First step of the chunk.
    pub step0: usize,
    /// Steps in the chunk, including those the tile skips.
    pub steps: usize,
    /// Steps of the chunk in which none of the tile's columns fired (skipped).
    pub skipped_steps: usize,
}

/// A layer's fired columns per step, in the combined column space, and its shape.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixActivity {
    /// Weight rows.
    pub rows: usize,
    /// Weight columns.
    pub columns: usize,
    /// Per step: fired columns ascending and their deltas.
    pub steps: Vec<(Vec<u32>, Vec<f32>)>,
}

impl MatrixActivity {
    /// A recurrent layer with `gates` gate rows per hidden unit: columns are [x; h].
    pub fn layer<T: Real>(gates: usize, trace: &ActivityTrace<T>) -> Self {
        let steps = (0..trace.steps())
            .map(|t| {
                let (idx, val) = trace.combined_step(t);
                (idx, val.iter().map(|v| v.to_f64() as f32).collect())
            })
            .collect();
        MatrixActivity { rows: gates * trace.n_hidden, columns: trace.n_input + trace.n_hidden, steps }
    }

    /// Fired columns over all steps.
    pub fn fired(&self) -> usize {
        self.steps.iter().map(|(idx, _)| idx.len()).sum()
    }
}

/// The tile places of `activity`, in issue order (step chunks, then row blocks, then column
/// blocks).
pub fn places(activity: &MatrixActivity) -> Vec<TilePlace> {
    let mut out = Vec::new();
    let steps = activity.steps.len();
    for step0 in (0..steps).step_by(MAX_STEPS) {
        let chunk = &activity.steps[step0..(step0 + MAX_STEPS).min(steps)];
        for row0 in (0..activity.rows).step_by(MAX_WIDTH) {
            let mut column0 = 0;
            while column0 < activity.columns {
                let columns = column_block(chunk, column0, activity.columns - column0);
                let range = column0 as u32..(column0 + columns) as u32;
                let skipped_steps = chunk.iter().filter(|(idx, _)| !idx.iter().any(|j| range.contains(j))).count();
                out.push(TilePlace {
                    row0,
                    rows: MAX_WIDTH.min(activity.rows - row0),
                    column0,
                    columns,
                    step0,
                    steps: chunk.len(),
                    skipped_steps,
                });
                column0 += columns;
            }
        }
    }
    out
}

/// The width of the column block starting at `column0` with `left` columns to go: 256, or 128
/// when a step of `chunk` fires all 256 (the RTL computes such a step wrongly: its fired count
/// is an 8-bit field, docs/rtl.md).
fn column_block(chunk: &[(Vec<u32>, Vec<f32>)], column0: usize, left: usize) -> usize {
    if left < MAX_WIDTH {
        return left;
    }
    let range = column0 as u32..(column0 + MAX_WIDTH) as u32;
    let full = chunk.iter().any(|(idx, _)| idx.iter().filter(|j| range.contains(j)).count() == MAX_WIDTH);
    if full {
        MAX_WIDTH / 2
    } else {
        MAX_WIDTH
    }
}

/// The fired columns of `place`'s steps that it runs (re-based to the tile, empty steps
/// dropped).
pub fn tile_steps(activity: &MatrixActivity, place: &TilePlace) -> Vec<(Vec<u32>, Vec<f32>)> {
    let end = (place.column0 + place.columns) as u32;
    activity.steps[place.step0..place.step0 + place.steps]
        .iter()
        .map(|(idx, val)| {
            idx.iter()
                .zip(val)
                .filter(|(&j, _)| j >= place.column0 as u32 && j < end)
                .map(|(&j, &v)| (j - place.column0 as u32, v))
                .unzip::<u32, f32, Vec<u32>, Vec<f32>>()
        })
        .filter(|(idx, _): &(Vec<u32>, Vec<f32>)| !idx.is_empty())
        .collect()
}

/// A tile of `place` with seeded values in `format`: weights uniform in +-1/sqrt(columns),
/// gradients normal with standard deviation `grad_scale`, the activity's own deltas; each tensor
/// quantised on its own (FXP16 fraction bits from its largest magnitude). `None` when the tile
/// runs no step.
pub fn make_tile(
    format: Format,
    activity: &MatrixActivity,
    place: &TilePlace,
    grad_scale: f64,
    seed: u64,
) -> Option<Tile> {
    let steps = tile_steps(activity, place);
    if steps.is_empty() {
        return None;
    }
    let rows = place.rows.div_ceil(LANES) * LANES;
    let columns = place.columns.div_ceil(LANES) * LANES;
    let mut rng = Rng::seed(seed);
    let bound = 1.0 / (activity.columns as f64).sqrt();
    let mut weights = vec![0.0; rows * columns];
    for r in 0..place.rows {
        for j in 0..place.columns {
            weights[r * columns + j] = rng.uniform_range(-bound, bound);
        }
    }
    let mut grads = vec![0.0; steps.len() * rows];
    for t in 0..steps.len() {
        for r in 0..place.rows {
            grads[t * rows + r] = grad_scale * rng.normal();
        }
    }
    let deltas: Vec<f64> = steps.iter().flat_map(|(_, v)| v.iter().map(|&x| f64::from(x))).collect();
    let deltas = Quantized::new(format, &deltas, None).words;
    let mut next = deltas.into_iter();
    let steps = steps
        .into_iter()
        .map(|(idx, val)| {
            let words: Vec<u16> = next.by_ref().take(val.len()).collect();
            (idx.into_iter().map(|j| j as u16).collect(), words)
        })
        .collect();
    Some(Tile {
        format,
        rows,
        columns,
        weights: Quantized::new(format, &weights, None).words,
        steps,
        grads: Quantized::new(format, &grads, None).words,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::generate_trace;

    #[test]
    fn a_wide_layer_tiles_into_legal_pieces_that_cover_it() {
        // 1 x 128 LSTM on 40 inputs: 512 rows, 168 columns, 300 steps.
        let trace = generate_trace(40, 128, 300, 0.8, &mut Rng::seed(3));
        let activity = MatrixActivity::layer(4, &trace);
        let places = places(&activity);
        assert_eq!(places.len(), 2 * 2); // 2 step chunks x 2 row blocks x 1 column block
        assert!(places.iter().all(|p| p.rows <= 256 && p.columns <= 256 && p.steps <= 256));
        assert_eq!(places.iter().filter(|p| p.step0 == 0).map(|p| p.rows).sum::<usize>(), 512);
        let tile = make_tile(Format::Fxp16, &activity, &places[0], 1e-3, 1).unwrap();
        assert_eq!((tile.rows, tile.columns, tile.steps.len()), (256, 176, 256));
        tile.validate().unwrap();
        let fired: usize = places
            .iter()
            .filter(|p| p.row0 == 0)
            .map(|p| tile_steps(&activity, p).iter().map(|(i, _)| i.len()).sum::<usize>())
            .sum();
        assert_eq!(fired, activity.fired());
    }

    #[test]
    fn a_step_firing_all_256_columns_halves_the_column_block() {
        let all: Vec<u32> = (0..256).collect();
        let activity =
            MatrixActivity { rows: 16, columns: 300, steps: vec![(all.clone(), vec![1.0; 256]), (vec![3], vec![1.0])] };
        let widths: Vec<usize> = places(&activity).iter().map(|p| p.columns).collect();
        assert_eq!(widths, vec![128, 172]);
        let one_short = MatrixActivity { steps: vec![(all[1..].to_vec(), vec![1.0; 255])], ..activity };
        let widths: Vec<usize> = places(&one_short).iter().map(|p| p.columns).collect();
        assert_eq!(widths, vec![256, 44]);
    }

    #[test]
    fn steps_where_a_column_block_fires_nothing_are_skipped() {
        let activity = MatrixActivity {
            rows: 16,
            columns: 300,
            steps: vec![(vec![3], vec![1.0]), (vec![280], vec![1.0]), (vec![5, 290], vec![1.0, 2.0])],
        };
        let places = places(&activity);
        assert_eq!(places.len(), 2);
        assert_eq!((places[0].skipped_steps, places[1].skipped_steps), (1, 1));
        let second = tile_steps(&activity, &places[1]);
        assert_eq!(second, vec![(vec![24], vec![1.0]), (vec![34], vec![2.0])]);
    }
}
