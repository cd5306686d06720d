//! A Delta layer whose three matrix products run as the accelerator runs them
//! ([`super::Mode::DeltaInFormat`], [`super::datapath`]).
//!
//! The layer's weights are one matrix over the memory rows (4H) and the combined columns [x; h]
//! (F + H): `w_x` fills rows from [`Layer::input_offset`] in the first F columns, `w_h` rows from
//! [`Layer::hidden_offset`] in the last H (zero words elsewhere, the GRU's M_nx and M_nh blocks).
//! Per step, MxV_SP over the step's fired columns (input first, then hidden, ascending) gives
//! W delta_t from an empty sum, which M_t adds in f32; backward, MTxV_SP gives e_j = (W^T G_t)_j
//! per fired column; after the time loop VXV_SP sums dW over the steps in ascending order, as
//! one instruction per sequence does, and the f32 gradient adds it. All three are
//! [`crate::sim::rtl::ops`], the simulator's own, so a layer's words equal the simulator's tile
//! outputs on the same words (tested). The RTL's instructions take at most 256 columns; a layer
//! with F + H > 256 would need column tiling, whose partial sums change the order of a BF16 sum:
//! [`crate::train::TrainConfig::validate`] refuses it. Rows need no tiling for MxV; MTxV's sum
//! continues over every block of 16 rows in order (a row tile's partial sum entering the next
//! through the accumulator lane's input).

use super::datapath::{Datapath, Overflow, Tensor, TensorRanges};
use super::{Layer, LayerTape};
use crate::delta::encode;
use crate::kernels::Real;
use crate::sim::rtl::arith::Arith;
use crate::sim::rtl::ops::{self, ExactFxp, Sum};
use crate::sim::Format;
use crate::Thresholds;

/// A running sum that ends as a word: always for BF16, for FXP16 only when it fits.
pub(crate) trait WordSum: Sum {
    /// The sum's word, or `None` when the format cannot hold it.
    fn word(self, acc: Self::Acc) -> Option<u16>;
    /// The sum in units of its last place (FXP16; what an overflow report shows).
    fn units(self, acc: Self::Acc) -> f64;
}

impl WordSum for Arith {
    fn word(self, acc: u16) -> Option<u16> {
        Some(acc)
    }
    fn units(self, acc: u16) -> f64 {
        f64::from(acc as i16)
    }
}

impl WordSum for ExactFxp {
    fn word(self, acc: i64) -> Option<u16> {
        ExactFxp::word(acc)
    }
    fn units(self, acc: i64) -> f64 {
        acc as f64
    }
}

/// One step's fired columns in the combined [x; h] space and their delta words.
struct StepWords {
    idx: Vec<u32>,
    vals: Vec<u16>,
}

impl<T: Real> Layer<T> {
    /// The combined weight matrix in words: memory rows x (F + H), stored column by column
    /// (`words[j * rows + r]`, [`ops`]'s layout).
    pub(crate) fn combined_weight_words(&self, dp: &Datapath, tape: &LayerTape<T>) -> Result<Vec<u16>, Overflow> {
        let (f, h, m) = (self.n_input, self.n_hidden, self.memory_len());
        let (xo, ho, rows) = (self.input_offset(), self.hidden_offset(), self.w_x.rows);
        let columns = f + h;
        let mut words = vec![0u16; m * columns];
        for (matrix, offset, column0) in [(&self.w_x, xo, 0), (&self.w_h, ho, f)] {
            for (j, column) in matrix.data.chunks_exact(rows).enumerate() {
                for (r, &w) in column.iter().enumerate() {
                    let v = w.to_f64();
                    tape.datapath.ranges.record(Tensor::Weights, v);
                    words[(column0 + j) * m + offset + r] = dp.encode(Tensor::Weights, 0, v)?;
                }
            }
        }
        Ok(words)
    }

    /// Step `t`'s fired columns (combined) and delta words from `tape`'s trace.
    fn step_words(&self, dp: &Datapath, tape: &LayerTape<T>, t: usize) -> Result<StepWords, Overflow> {
        let (xi, xv) = tape.trace.input.step(t);
        let (hi, hv) = tape.trace.hidden.step(t);
        let mut idx = Vec::with_capacity(xi.len() + hi.len());
        idx.extend_from_slice(xi);
        idx.extend(hi.iter().map(|&j| j + self.n_input as u32));
        let mut vals = Vec::with_capacity(idx.len());
        for v in xv.iter().chain(hv) {
            tape.datapath.ranges.record(Tensor::Deltas, v.to_f64());
            vals.push(dp.encode(Tensor::Deltas, t, v.to_f64())?);
        }
        Ok(StepWords { idx, vals })
    }

    /// The Delta forward pass of [`Layer::forward_delta`] with M_t += W delta_t computed by
    /// MxV_SP in `dp`'s format (module docs). On an FXP16 overflow the pass stops and
    /// `tape.datapath.overflow` names it (the tape's values are then not to be used).
    pub(super) fn forward_in_format(
        &self,
        inputs: &[T],
        steps: usize,
        thresholds: Thresholds,
        dp: Datapath,
        tape: &mut LayerTape<T>,
    ) {
        tape.datapath = Default::default();
        let result = match dp.format {
            Format::Bf16 => self.forward_words(Arith(Format::Bf16), inputs, steps, thresholds, &dp, tape),
            Format::Fxp16 => self.forward_words(ExactFxp, inputs, steps, thresholds, &dp, tape),
        };
        if let Err(overflow) = result {
            let _ = tape.datapath.overflow.set(overflow);
        }
    }

    fn forward_words<S: WordSum>(
        &self,
        s: S,
        inputs: &[T],
        steps: usize,
        thresholds: Thresholds,
        dp: &Datapath,
        tape: &mut LayerTape<T>,
    ) -> Result<(), Overflow> {
        let (f, h, m) = (self.n_input, self.n_hidden, self.memory_len());
        self.prepare_tape(tape, steps);
        let weights = self.combined_weight_words(dp, tape)?;
        let zeros = vec![T::ZERO; h];
        let mut memory = vec![T::ZERO; m];
        self.initial_memory(&mut memory);
        let (mut x_ref, mut h_ref) = (vec![T::ZERO; f], vec![T::ZERO; h]);
        let mut sums = vec![s.zero(); m];
        for t in 0..steps {
            encode(&mut tape.trace.input, &inputs[t * f..(t + 1) * f], &mut x_ref, T::from_f64(thresholds.input));
            let h_prev = if t == 0 { &zeros[..] } else { &tape.hidden[(t - 1) * h..t * h] };
            encode(&mut tape.trace.hidden, h_prev, &mut h_ref, T::from_f64(thresholds.hidden));
            let step = self.step_words(dp, tape, t)?;
            ops::mxv(s, &weights, m, &step.idx, &step.vals, &mut sums);
            for (mem, &sum) in memory.iter_mut().zip(&sums) {
                let word = word_or_overflow(s, sum, dp, Tensor::Memory, t)?;
                let v = dp.decode(Tensor::Memory, word);
                tape.datapath.ranges.record(Tensor::Memory, v);
                *mem += T::from_f64(v);
            }
            self.step_gates(tape, t, &memory, &zeros);
        }
        Ok(())
    }

    /// The exact sparse backward of [`Layer::forward_in_format`]: [`Layer::backward_delta`]'s
    /// recursion with e = W^T G_t by MTxV_SP and dW by VXV_SP in `dp`'s format (module docs).
    /// On an FXP16 overflow it stops and `tape.datapath.overflow` names it.
    pub(super) fn backward_in_format(
        &self,
        grads: &mut Layer<T>,
        dinputs: Option<&mut [T]>,
        tape: &LayerTape<T>,
        dh_ext: &[T],
        l1_beta: T,
        dp: Datapath,
    ) {
        if tape.datapath.overflow.get().is_some() {
            return;
        }
        let result = match dp.format {
            Format::Bf16 => self.backward_words(Arith(Format::Bf16), grads, dinputs, tape, dh_ext, l1_beta, &dp),
            Format::Fxp16 => self.backward_words(ExactFxp, grads, dinputs, tape, dh_ext, l1_beta, &dp),
        }
        .map(drop);
        if let Err(overflow) = result {
            let _ = tape.datapath.overflow.set(overflow);
        }
    }

    /// [`Layer::backward_in_format`]'s work; returns G_t's words (steps x memory rows).
    #[allow(clippy::too_many_arguments)]
    fn backward_words<S: WordSum>(
        &self,
        s: S,
        grads: &mut Layer<T>,
        mut dinputs: Option<&mut [T]>,
        tape: &LayerTape<T>,
        dh_ext: &[T],
        l1_beta: T,
        dp: &Datapath,
    ) -> Result<Vec<u16>, Overflow> {
        let (f, h, m, steps) = (self.n_input, self.n_hidden, self.memory_len(), tape.steps);
        let columns = f + h;
        let weights = self.combined_weight_words(dp, tape)?;
        let zeros = vec![T::ZERO; h];
        let mut gate_grad = vec![T::ZERO; m];
        let mut memory_grad = vec![T::ZERO; m];
        let mut carry = vec![T::ZERO; h];
        let mut dh = vec![T::ZERO; h];
        let mut dh_rec = vec![T::ZERO; h];
        let (mut kappa_x, mut kappa_h) = (vec![T::ZERO; f], vec![T::ZERO; h]);
        let mut e = vec![T::ZERO; columns];
        let mut e_sums = Vec::with_capacity(columns);
        // G_t's words and the steps' fired words, for VXV_SP after the loop.
        let mut grad_words = vec![0u16; steps * m];
        let mut step_words = Vec::with_capacity(steps);
        for t in (0..steps).rev() {
            for ((d, &ext), &rec) in dh.iter_mut().zip(&dh_ext[t * h..(t + 1) * h]).zip(&dh_rec) {
                *d = ext + rec;
            }
            self.step_gates_backward(&mut gate_grad, &mut carry, &dh, tape, t, &zeros);
            for (g, &d) in memory_grad.iter_mut().zip(&gate_grad) {
                *g += d;
            }
            let g_words = &mut grad_words[t * m..(t + 1) * m];
            for (w, &g) in g_words.iter_mut().zip(&memory_grad) {
                tape.datapath.ranges.record(Tensor::Grads, g.to_f64());
                *w = dp.encode(Tensor::Grads, t, g.to_f64())?;
            }
            let step = self.step_words(dp, tape, t)?;
            // Without dinputs (the bottom layer in training) nothing reads the input columns' e:
            // the accelerator computes them, but a wrapped word there would harm nothing, so they
            // are neither computed nor checked here.
            let fired_x = tape.trace.input.step(t).0.len();
            let skipped = if dinputs.is_some() { 0 } else { fired_x };
            e[..skipped].fill(T::ZERO);
            e_sums.resize(step.idx.len() - skipped, s.zero());
            ops::mtxv(s, &weights, m, &step.idx[skipped..], g_words, &mut e_sums);
            for (ej, &sum) in e[skipped..].iter_mut().zip(&e_sums) {
                let v = dp.decode(Tensor::InputGrads, word_or_overflow(s, sum, dp, Tensor::InputGrads, t)?);
                tape.datapath.ranges.record(Tensor::InputGrads, v);
                *ej = T::from_f64(v);
            }
            let (e_x, e_h) = e[..step.idx.len()].split_at_mut(fired_x);
            let (idx_x, _) = tape.trace.input.step(t);
            if let Some(dx) = dinputs.as_deref_mut() {
                super::delta_layer::carry_back(&mut dx[t * f..(t + 1) * f], &mut kappa_x, idx_x, e_x);
            }
            let (idx_h, val_h) = tape.trace.hidden.step(t);
            if l1_beta != T::ZERO {
                for (ej, &delta) in e_h.iter_mut().zip(val_h) {
                    *ej += l1_beta * delta.signum_or_zero();
                }
            }
            if idx_h.len() < h {
                dh_rec.fill(T::ZERO);
            }
            super::delta_layer::carry_back(&mut dh_rec, &mut kappa_h, idx_h, e_h);
            step_words.push(step);
        }
        step_words.reverse();
        let mut dw = vec![s.zero(); m * columns];
        for (t, step) in step_words.iter().enumerate() {
            ops::vxv_step(s, &mut dw, m, &step.idx, &step.vals, &grad_words[t * m..(t + 1) * m]);
        }
        self.add_weight_gradient_words(s, grads, &dw, dp, &tape.datapath.ranges)?;
        self.add_bias_gradients(grads, &memory_grad);
        Ok(grad_words)
    }

    /// Adds VXV_SP's dW (memory rows x (F + H) sums, column by column) into the f32 gradients of
    /// `w_x` and `w_h`.
    fn add_weight_gradient_words<S: WordSum>(
        &self,
        s: S,
        grads: &mut Layer<T>,
        dw: &[S::Acc],
        dp: &Datapath,
        ranges: &TensorRanges,
    ) -> Result<(), Overflow> {
        let (f, m, rows) = (self.n_input, self.memory_len(), self.w_x.rows);
        for (matrix, offset, column0) in
            [(&mut grads.w_x, self.input_offset(), 0), (&mut grads.w_h, self.hidden_offset(), f)]
        {
            for (j, column) in matrix.data.chunks_exact_mut(rows).enumerate() {
                for (r, g) in column.iter_mut().enumerate() {
                    let sum = dw[(column0 + j) * m + offset + r];
                    let v = dp.decode(Tensor::WeightGrads, word_or_overflow(s, sum, dp, Tensor::WeightGrads, 0)?);
                    ranges.record(Tensor::WeightGrads, v);
                    *g += T::from_f64(v);
                }
            }
        }
        Ok(())
    }
}

/// The word of a finished sum, or the overflow of `tensor` at `step` with its exact value.
fn word_or_overflow<S: WordSum>(
    s: S,
    sum: S::Acc,
    dp: &Datapath,
    tensor: Tensor,
    step: usize,
) -> Result<u16, Overflow> {
    s.word(sum).ok_or_else(|| {
        let fraction_bits = dp.fraction_bits(tensor);
        Overflow { tensor, step, value: s.units(sum) / 2f64.powi(i32::from(fraction_bits)), fraction_bits }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::datapath::QFormat;
    use crate::nn::CellKind;
    use crate::rng::Rng;
    use crate::sim::rtl::tile::Tile;

    /// A layer with seeded weights: 4H = 16 memory rows (LSTM H = 4) or GRU H = 4 (12 gate rows in
    /// 16 memory rows), 12 inputs: 16 combined columns, one RTL tile.
    fn layer(cell: CellKind, seed: u64) -> Layer<f32> {
        let mut l = Layer::<f32>::zeros(cell, 12, 4);
        let mut rng = Rng::seed(seed);
        for w in l.w_x.data.iter_mut().chain(l.w_h.data.iter_mut()) {
            *w = rng.uniform_range(-0.6, 0.6) as f32;
        }
        for b in l.b_x.iter_mut().chain(l.b_h.iter_mut()) {
            *b = rng.uniform_range(-0.1, 0.1) as f32;
        }
        l
    }

    fn datapaths() -> [Datapath; 2] {
        [
            Datapath { format: Format::Bf16, q: QFormat { weights: 0, deltas: 0, grads: 0 } },
            Datapath { format: Format::Fxp16, q: QFormat { weights: 7, deltas: 4, grads: 10 } },
        ]
    }

    /// The forward, MTxV and VxV products of a layer trained in a format are the simulator's
    /// tile outputs on the same words: M_t as the forward adds them, e_j through the kappa carry
    /// into dL/dx, dW into the weight gradient.
    #[test]
    fn a_layers_three_products_equal_the_simulators_datapath() {
        let steps = 20;
        for cell in [CellKind::Lstm, CellKind::Gru] {
            for dp in datapaths() {
                let l = layer(cell, 3);
                let mut rng = Rng::seed(4);
                let inputs: Vec<f32> = (0..steps * 12).map(|_| rng.uniform_range(-1.0, 1.0) as f32).collect();
                let dh_ext: Vec<f32> = (0..steps * 4).map(|_| rng.uniform_range(-0.05, 0.05) as f32).collect();
                let thresholds = Thresholds { input: 0.3, hidden: 0.05 };
                let mut tape = LayerTape::new();
                l.forward_in_format(&inputs, steps, thresholds, dp, &mut tape);
                assert!(tape.datapath.overflow.get().is_none(), "{dp:?} {:?}", tape.datapath.overflow.get());
                let mut grads = Layer::<f32>::zeros(cell, 12, 4);
                let mut dx = vec![0.0f32; steps * 12];
                let g_words = match dp.format {
                    Format::Bf16 => {
                        l.backward_words(Arith(Format::Bf16), &mut grads, Some(&mut dx), &tape, &dh_ext, 0.0, &dp)
                    }
                    Format::Fxp16 => l.backward_words(ExactFxp, &mut grads, Some(&mut dx), &tape, &dh_ext, 0.0, &dp),
                }
                .unwrap();
                // The simulator's tile on the same words: the steps that fired anything.
                // The tile holds its weights row by row.
                let weights = crate::sim::rtl::tile::transpose(&l.combined_weight_words(&dp, &tape).unwrap(), 16, 16);
                let fired: Vec<usize> =
                    (0..steps).filter(|&t| !l.step_words(&dp, &tape, t).unwrap().idx.is_empty()).collect();
                let tile = Tile {
                    format: dp.format,
                    rows: 16,
                    columns: 16,
                    weights,
                    steps: fired
                        .iter()
                        .map(|&t| {
                            let w = l.step_words(&dp, &tape, t).unwrap();
                            (w.idx.iter().map(|&j| j as u16).collect(), w.vals)
                        })
                        .collect(),
                    grads: fired.iter().flat_map(|&t| g_words[t * 16..(t + 1) * 16].to_vec()).collect(),
                };
                tile.validate().unwrap();
                let out = tile.outputs();
                // Forward: the same gates again from M_t = b + sum of the tile's M words.
                let mut memory = vec![0.0f32; 16];
                l.initial_memory(&mut memory);
                let mut again = tape.clone();
                let zeros = vec![0.0f32; 4];
                for t in 0..steps {
                    if let Some(k) = fired.iter().position(|&u| u == t) {
                        for (mem, &w) in memory.iter_mut().zip(&out.m[k * 16..(k + 1) * 16]) {
                            *mem += dp.decode(Tensor::Memory, w) as f32;
                        }
                    }
                    l.step_gates(&mut again, t, &memory, &zeros);
                }
                assert_eq!(again.hidden, tape.hidden, "{cell:?} {dp:?} forward");
                assert_eq!(again.gates, tape.gates, "{cell:?} {dp:?} forward gates");
                // dW: the gradient (from zero) holds exactly the tile's dW words.
                let w_of = |r: usize, c: usize| dp.decode(Tensor::WeightGrads, out.dw[r * 16 + c]) as f32;
                let (xo, ho, rows) = (l.input_offset(), l.hidden_offset(), l.w_x.rows);
                for r in 0..rows {
                    for j in 0..12 {
                        assert_eq!(grads.w_x.data[j * rows + r], w_of(xo + r, j), "{cell:?} {dp:?} dW_x");
                    }
                    for j in 0..4 {
                        assert_eq!(grads.w_h.data[j * rows + r], w_of(ho + r, 12 + j), "{cell:?} {dp:?} dW_h");
                    }
                }
                // dL/dx: e from the tile's MTxV words through the kappa carry.
                let mut kappa = [0.0f32; 12];
                let mut want = vec![0.0f32; steps * 12];
                for t in (0..steps).rev() {
                    let (idx, _) = tape.trace.input.step(t);
                    let k = fired.iter().position(|&u| u == t);
                    for &j in idx {
                        let e = dp.decode(Tensor::InputGrads, out.dx[k.unwrap() * 16 + j as usize]) as f32;
                        want[t * 12 + j as usize] = kappa[j as usize] + e;
                        kappa[j as usize] = -e;
                    }
                }
                assert_eq!(dx, want, "{cell:?} {dp:?} dL/dx");
            }
        }
    }

    #[test]
    fn an_fxp16_overflow_names_the_tensor_and_the_step() {
        let l = layer(CellKind::Lstm, 3);
        let inputs: Vec<f32> = (0..12 * 5).map(|i| if i >= 48 { 900.0 } else { 0.5 }).collect();
        let dp = Datapath { format: Format::Fxp16, q: QFormat { weights: 8, deltas: 6, grads: 10 } };
        let mut tape = LayerTape::new();
        l.forward_in_format(&inputs, 5, Thresholds { input: 0.1, hidden: 0.1 }, dp, &mut tape);
        let overflow = *tape.datapath.overflow.get().expect("900 does not fit Q.6");
        assert_eq!((overflow.tensor, overflow.step), (Tensor::Deltas, 4));
        assert!((overflow.value - 899.5).abs() < 1.0, "{overflow:?}");
    }
}
