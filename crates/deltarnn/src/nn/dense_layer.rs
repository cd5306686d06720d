//! A standard (dense) LSTM or GRU layer over a whole sequence with ordinary BPTT: every column
//! every step, M_t = b + W_x x_t + W_h h_{t-1}. What is not sequential in time (the input
//! projection, both weight gradients, dL/dx) runs as matrix-matrix products over the sequence
//! (`nn/dense.rs`); [`super::batch`] runs the same path over several sequences at once.

use super::{dense, Layer, LayerTape};
use crate::kernels::{dense_forward, dense_transposed, Real};

impl<T: Real> Layer<T> {
    /// The dense forward pass over `steps` inputs (steps x F, row-major), recording the gates,
    /// the cell values and h_t in `tape` (its activity trace stays empty).
    pub(super) fn forward_dense(&self, inputs: &[T], steps: usize, tape: &mut LayerTape<T>) {
        let (h, m) = (self.n_hidden, self.memory_len());
        let (ho, rows) = (self.hidden_offset(), self.w_x.rows);
        self.prepare_tape(tape, steps);
        let zeros = vec![T::ZERO; h];
        let mut bias_memory = vec![T::ZERO; m];
        self.initial_memory(&mut bias_memory);
        let mut memory = bias_memory.clone();
        // W_x x_t of every step as one matrix product (T, rows).
        let mut projection = vec![T::ZERO; steps * rows];
        dense::input_projection(&mut projection, &self.w_x, inputs, steps);
        for t in 0..steps {
            // M_t = b + (W_x x_t, this step's row of the projection) + W_h h_{t-1}.
            memory.copy_from_slice(&bias_memory);
            self.add_projection_row(&mut memory, &projection, t);
            if t > 0 {
                dense_forward(&mut memory[ho..ho + rows], &self.w_h, &tape.hidden[(t - 1) * h..t * h]);
            }
            self.step_gates(tape, t, &memory, &zeros);
        }
    }

    /// Ordinary BPTT of [`Layer::forward_dense`]: per step backward in time, the gate gradients
    /// g_t and dL/dh_{t-1} = W_h^T g_t; then the weight gradients and dL/dx as matrix products
    /// over all g_t, and db = sum of g_t. Shapes as [`Layer::backward`].
    pub(super) fn backward_dense(
        &self,
        grads: &mut Layer<T>,
        dinputs: Option<&mut [T]>,
        inputs: &[T],
        tape: &LayerTape<T>,
        dh_ext: &[T],
    ) {
        let (h, m, steps) = (self.n_hidden, self.memory_len(), tape.steps);
        let (ho, rows) = (self.hidden_offset(), self.w_x.rows);
        let zeros = vec![T::ZERO; h];
        let mut gate_grads = vec![T::ZERO; steps * m]; // g_t of every step
        let mut bias_grad = vec![T::ZERO; m]; // sum of the g_t
        let mut carry = vec![T::ZERO; h]; // LSTM dc, GRU direct dh
        let mut dh = vec![T::ZERO; h]; // dL/dh_t
        let mut dh_rec = vec![T::ZERO; h]; // dL/dh_t through the recurrence
        for t in (0..steps).rev() {
            for ((d, &ext), &rec) in dh.iter_mut().zip(&dh_ext[t * h..(t + 1) * h]).zip(&dh_rec) {
                *d = ext + rec;
            }
            let gate_grad = &mut gate_grads[t * m..(t + 1) * m];
            self.step_gates_backward(gate_grad, &mut carry, &dh, tape, t, &zeros);
            for (g, &d) in bias_grad.iter_mut().zip(gate_grad.iter()) {
                *g += d;
            }
            dense_transposed(&mut dh_rec, &self.w_h, &gate_grad[ho..ho + rows]);
        }
        self.dense_weight_gradients(grads, dinputs, inputs, &tape.hidden, &gate_grads, steps);
        self.add_bias_gradients(grads, &bias_grad);
    }

    /// Dense BPTT's weight gradients from every step's gate gradients g_t, as matrix products over the
    /// sequence: dW_x += g_x^T X, dW_h += g_h^T [h_0 .. h_{T-2}] (h_{-1} = 0 adds nothing), and
    /// dX = g_x W_x (overwritten) when `dinputs` is given.
    ///
    /// Shapes: `gate_grads` (steps x 4H), `inputs` (steps x F), `hidden` (steps x H), `dinputs`
    /// (steps x F).
    pub(super) fn dense_weight_gradients(
        &self,
        grads: &mut Layer<T>,
        dinputs: Option<&mut [T]>,
        inputs: &[T],
        hidden: &[T],
        gate_grads: &[T],
        steps: usize,
    ) {
        let (m, xo, ho) = (self.memory_len(), self.input_offset(), self.hidden_offset());
        if steps == 0 {
            return;
        }
        dense::weight_gradient(&mut grads.w_x, &gate_grads[xo..], m, inputs, steps);
        if steps > 1 {
            dense::weight_gradient(&mut grads.w_h, &gate_grads[m + ho..], m, hidden, steps - 1);
        }
        if let Some(dx) = dinputs {
            dense::input_gradient(dx, &self.w_x, &gate_grads[xo..], m, steps);
        }
    }

    /// Adds row `t` of an input projection (steps x gate rows, from `dense::input_projection`)
    /// into the input rows of `memory` (4H).
    pub(super) fn add_projection_row(&self, memory: &mut [T], projection: &[T], t: usize) {
        let (xo, rows) = (self.input_offset(), self.w_x.rows);
        for (g, &p) in memory[xo..xo + rows].iter_mut().zip(&projection[t * rows..(t + 1) * rows]) {
            *g += p;
        }
    }
}
