//! Dense BPTT over several sequences at once, with the recurrent products of every sequence still
//! running at a time step done as one matrix-matrix product: M (B, 4H) += H_{t-1} (B, H) W_h^T
//! forward and dL/dh_{t-1} (B, H) = G_t (B, 4H) W_h backward. This is how frameworks that pad and
//! batch (JAX, PyTorch) run dense training; from about 16 sequences per product it beats one
//! matrix-vector product per sequence (`examples/recurrent_batching.rs`, docs/performance.md).
//!
//! Sequences keep their own lengths (no padding): at step t the batch is the sequences longer
//! than t, a prefix of the sequences sorted by length. The result is the per-sequence dense path's
//! ([`Model::loss_and_gradient_with`] in [`Mode::Dense`](super::Mode::Dense)) up to summation order (tested).

use super::{dense, Layer, LayerTape, Model, Params, SequenceLoss, SequenceTape};
use crate::kernels::gemm::{gemm, Strided, StridedMut};
use crate::kernels::Real;

/// The order in which sequences of these lengths join the batch: longest first (stable), so the
/// sequences still running at any step are a prefix.
fn longest_first(steps: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..steps.len()).collect();
    order.sort_by_key(|&s| std::cmp::Reverse(steps[s]));
    order
}

/// How many of `order` are still running at step `t`.
fn running(order: &[usize], steps: &[usize], t: usize) -> usize {
    order.iter().take_while(|&&s| steps[s] > t).count()
}

impl<T: Real> Layer<T> {
    /// Dense forward of this layer over several sequences: `inputs[s]` (steps_s x F, row-major)
    /// into `tapes[s]`, as [`Layer::forward`] in [`Mode::Dense`](super::Mode::Dense) does for each.
    #[track_caller]
    pub fn forward_dense_batch(&self, inputs: &[&[T]], tapes: &mut [&mut LayerTape<T>]) {
        let (f, h, m) = (self.n_input, self.n_hidden, self.memory_len());
        let (ho, rows) = (self.hidden_offset(), self.w_x.rows);
        assert_eq!(inputs.len(), tapes.len(), "one tape per sequence");
        let steps: Vec<usize> = inputs
            .iter()
            .map(|x| {
                assert_eq!(x.len() % f.max(1), 0, "inputs length is not a multiple of F");
                x.len() / f.max(1)
            })
            .collect();
        // W_x x_t for every step of every sequence as one product over the sequences' frames
        // placed end to end; sequence s's rows start at starts[s].
        let starts = frame_starts(&steps);
        let total = starts[inputs.len()];
        let mut all_inputs = Vec::with_capacity(total * f);
        inputs.iter().for_each(|x| all_inputs.extend_from_slice(x));
        let mut projection = vec![T::ZERO; total * rows];
        dense::input_projection(&mut projection, &self.w_x, &all_inputs, total);
        let projections: Vec<&[T]> =
            (0..inputs.len()).map(|s| &projection[starts[s] * rows..starts[s + 1] * rows]).collect();
        for (tape, &n) in tapes.iter_mut().zip(&steps) {
            self.prepare_tape(tape, n);
        }
        let mut bias_memory = vec![T::ZERO; m];
        self.initial_memory(&mut bias_memory);
        let order = longest_first(&steps);
        let zeros = vec![T::ZERO; h];
        let mut memory = vec![T::ZERO; inputs.len() * m]; // row i: the i-th running sequence
        let mut h_prev = vec![T::ZERO; inputs.len() * h];
        for t in 0..steps.iter().copied().max().unwrap_or(0) {
            let batch = running(&order, &steps, t);
            for (i, &s) in order[..batch].iter().enumerate() {
                let row = &mut memory[i * m..(i + 1) * m];
                row.copy_from_slice(&bias_memory);
                self.add_projection_row(row, projections[s], t);
                if t > 0 {
                    h_prev[i * h..(i + 1) * h].copy_from_slice(&tapes[s].hidden[(t - 1) * h..t * h]);
                }
            }
            if t > 0 {
                // M[:, hidden rows] (batch, rows) += H_{t-1} (batch, H) W_h^T; W_h is (rows, H) column-major.
                gemm(
                    batch,
                    h,
                    rows,
                    Strided { data: &h_prev, row_stride: h, col_stride: 1 },
                    Strided { data: &self.w_h.data, row_stride: rows, col_stride: 1 },
                    T::ONE,
                    StridedMut { data: &mut memory[ho..], row_stride: m, col_stride: 1 },
                );
            }
            for (i, &s) in order[..batch].iter().enumerate() {
                self.step_gates(tapes[s], t, &memory[i * m..(i + 1) * m], &zeros);
            }
        }
    }

    /// Dense backward of [`Layer::forward_dense_batch`], as [`Layer::backward`] in
    /// [`Mode::Dense`](super::Mode::Dense) for each sequence: accumulates every parameter gradient into `grads`
    /// (sequence by sequence, in the given order) and overwrites `dinputs[s]` (steps_s x F) with
    /// dL/dx when given. `dh_ext[s]` (steps_s x H) is dL/dh_t from the head or the layer above.
    #[track_caller]
    pub fn backward_dense_batch(
        &self,
        grads: &mut Layer<T>,
        dinputs: Option<&mut [Vec<T>]>,
        inputs: &[&[T]],
        tapes: &[&LayerTape<T>],
        dh_ext: &[&[T]],
    ) {
        let (h, m) = (self.n_hidden, self.memory_len());
        let (ho, rows) = (self.hidden_offset(), self.w_x.rows);
        let n = tapes.len();
        assert!(inputs.len() == n && dh_ext.len() == n, "one input and one dh_ext per sequence");
        let steps: Vec<usize> = tapes.iter().map(|tape| tape.steps).collect();
        for (s, &len) in steps.iter().enumerate() {
            assert_eq!(dh_ext[s].len(), len * h, "dh_ext length");
            assert_eq!(inputs[s].len(), len * self.n_input, "inputs length");
        }
        let order = longest_first(&steps);
        let zeros = vec![T::ZERO; h];
        // Rows i of these follow `order`: the i-th longest sequence.
        let mut gate_grads = vec![T::ZERO; n * m]; // this step's dL/dM_t
        let mut recurrent = vec![T::ZERO; n * h]; // dL/dh_t through the recurrence
        let mut carry = vec![T::ZERO; n * h]; // LSTM dc, GRU direct dh
        let mut bias_grads = vec![T::ZERO; n * m];
        let mut dh = vec![T::ZERO; h];
        // Every sequence's dL/dM_t, end to end (sequence s from row starts[s]), for the weight
        // gradients after the loop.
        let starts = frame_starts(&steps);
        let total = starts[n];
        let mut all_gate_grads = vec![T::ZERO; total * m];
        for t in (0..steps.iter().copied().max().unwrap_or(0)).rev() {
            let batch = running(&order, &steps, t);
            for (i, &s) in order[..batch].iter().enumerate() {
                let tape = tapes[s];
                for ((d, &ext), &rec) in dh.iter_mut().zip(&dh_ext[s][t * h..(t + 1) * h]).zip(&recurrent[i * h..]) {
                    *d = ext + rec;
                }
                let dmemory = &mut gate_grads[i * m..(i + 1) * m];
                self.step_gates_backward(dmemory, &mut carry[i * h..(i + 1) * h], &dh, tape, t, &zeros);
                for (b, &d) in bias_grads[i * m..(i + 1) * m].iter_mut().zip(dmemory.iter()) {
                    *b += d;
                }
                all_gate_grads[(starts[s] + t) * m..][..m].copy_from_slice(dmemory);
            }
            if t > 0 {
                // dL/dh_{t-1} (batch, H) = G_t[:, hidden rows] (batch, rows) W_h (rows, H).
                gemm(
                    batch,
                    rows,
                    h,
                    Strided { data: &gate_grads[ho..], row_stride: m, col_stride: 1 },
                    Strided { data: &self.w_h.data, row_stride: 1, col_stride: rows },
                    T::ZERO,
                    StridedMut { data: &mut recurrent, row_stride: h, col_stride: 1 },
                );
            }
        }
        let position: Vec<usize> = {
            let mut position = vec![0; n];
            for (i, &s) in order.iter().enumerate() {
                position[s] = i;
            }
            position
        };
        // The weight gradients as one product each over every frame of the batch: dW_x += G^T X
        // and dW_h += G^T H_prev, H_prev holding h_{t-1} (zero at each sequence's first step).
        let (f, xo) = (self.n_input, self.input_offset());
        let mut all_inputs = Vec::with_capacity(total * f);
        let mut previous = vec![T::ZERO; total * h];
        for s in 0..n {
            all_inputs.extend_from_slice(inputs[s]);
            if steps[s] > 1 {
                previous[(starts[s] + 1) * h..starts[s + 1] * h]
                    .copy_from_slice(&tapes[s].hidden[..(steps[s] - 1) * h]);
            }
        }
        if total > 0 {
            dense::weight_gradient(&mut grads.w_x, &all_gate_grads[xo..], m, &all_inputs, total);
            dense::weight_gradient(&mut grads.w_h, &all_gate_grads[ho..], m, &previous, total);
        }
        let mut dinputs = dinputs;
        for s in 0..n {
            if let Some(dx) = dinputs.as_deref_mut() {
                assert_eq!(dx[s].len(), steps[s] * f, "dinputs length");
                let g = &all_gate_grads[starts[s] * m + xo..];
                dense::input_gradient(&mut dx[s], &self.w_x, g, m, steps[s]);
            }
            self.add_bias_gradients(grads, &bias_grads[position[s] * m..(position[s] + 1) * m]);
        }
    }
}

/// Where each sequence's frames start when the sequences of `steps` frames are placed end to
/// end, and (last) the total: n + 1 entries.
fn frame_starts(steps: &[usize]) -> Vec<usize> {
    let mut starts = Vec::with_capacity(steps.len() + 1);
    let mut total = 0;
    starts.push(0);
    for &len in steps {
        total += len;
        starts.push(total);
    }
    starts
}

impl<T: Real> Model<T> {
    /// Dense BPTT of several sequences at once (see the module doc): the forward pass, a per-frame
    /// loss and the backward pass, as [`Model::loss_and_gradient_with`] in [`Mode::Dense`](super::Mode::Dense) for
    /// each sequence. `loss(s, logits, dlogits)` gets sequence `s`'s logits (steps x C) and a
    /// zeroed dlogits to fill, and returns its summed loss and counted frames. Gradients
    /// accumulate into `grads`; `tapes` is resized to one tape per sequence and reused.
    #[track_caller]
    pub fn dense_batch_loss_and_gradient_with(
        &self,
        grads: &mut Params<T>,
        tapes: &mut Vec<SequenceTape<T>>,
        xs: &[&[T]],
        mut loss: impl FnMut(usize, &[T], &mut [T]) -> (f64, usize),
    ) -> Vec<SequenceLoss> {
        let c = &self.config;
        let (f, h) = (c.n_features, c.n_hidden);
        tapes.resize_with(xs.len(), SequenceTape::default);
        for (tape, x) in tapes.iter_mut().zip(xs) {
            assert_eq!(x.len() % f, 0, "x length is not a multiple of the feature count");
            tape.steps = x.len() / f;
            tape.layers.resize_with(c.n_layers, LayerTape::new);
        }
        for k in 0..c.n_layers {
            let (inputs, mut outputs): (Vec<&[T]>, Vec<&mut LayerTape<T>>) = tapes
                .iter_mut()
                .zip(xs)
                .map(|(tape, &x)| {
                    let (below, rest) = tape.layers.split_at_mut(k);
                    let input: &[T] = if k == 0 { x } else { &below[k - 1].hidden };
                    (input, &mut rest[0])
                })
                .unzip();
            self.params.layers[k].forward_dense_batch(&inputs, &mut outputs);
        }
        let mut losses = Vec::with_capacity(xs.len());
        let mut dh: Vec<Vec<T>> = Vec::with_capacity(xs.len());
        for (s, tape) in tapes.iter_mut().enumerate() {
            self.head_forward(tape);
            let mut dlogits = vec![T::ZERO; tape.logits.len()];
            let (cross_entropy_sum, frames) = loss(s, &tape.logits, &mut dlogits);
            losses.push(SequenceLoss { cross_entropy_sum, frames, l1_penalty: 0.0 });
            dh.push(self.head_backward(grads, tape, &dlogits));
        }
        for k in (0..c.n_layers).rev() {
            let inputs: Vec<&[T]> = tapes
                .iter()
                .zip(xs)
                .map(|(tape, &x)| if k == 0 { x } else { &tape.layers[k - 1].hidden[..] })
                .collect();
            let layer_tapes: Vec<&LayerTape<T>> = tapes.iter().map(|tape| &tape.layers[k]).collect();
            let mut dbelow: Vec<Vec<T>> =
                if k > 0 { tapes.iter().map(|tape| vec![T::ZERO; tape.steps * h]).collect() } else { Vec::new() };
            let dh_ext: Vec<&[T]> = dh.iter().map(Vec::as_slice).collect();
            let dinputs = if k > 0 { Some(&mut dbelow[..]) } else { None };
            self.params.layers[k].backward_dense_batch(&mut grads.layers[k], dinputs, &inputs, &layer_tapes, &dh_ext);
            dh = dbelow;
        }
        losses
    }
}
