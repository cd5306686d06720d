//! A Delta layer over a whole sequence: the forward pass that multiplies only fired columns, and
//! the exact temporally sparse backward pass of spec section 3, written in the order and the
//! names of `docs/derivations/sparse-bptt.md`.
//!
//! Each weight matrix's non-recurrent products (the input projection, the weight gradient, dL/dx)
//! run in one of two [`ProductForm`]s chosen per sequence from how much of that matrix's input
//! fired; the recurrent products (W_h delta_h forward, W_h^T G_t backward) are always per fired
//! column, because they are sequential in time.

use super::{dense, Layer, LayerTape};
use crate::delta::encode;
use crate::kernels::{spmv_backward, spmv_forward, spmv_transposed, Real};
use crate::Thresholds;

/// Fired fraction of one matrix's entries over a sequence from which a Delta layer computes
/// that matrix's non-recurrent products (the input projection, the weight gradient, dL/dx) as
/// matrix-matrix products over the densified deltas and reference states instead of per fired
/// column: the product form does the dense number of multiply-adds but runs them 2-3x faster,
/// so it wins when most entries fired. Results are the same gradient up to summation order; the
/// cost report counts the fired columns (the algorithm's work, `actual_macs`) and what ran
/// (`executed_macs`); [`super::Mode::DeltaPerColumn`] never uses the form. Measured with
/// `deltarnn bench --sections step` against builds at 0.3 and 0.4; see docs/performance.md.
pub const MATRIX_PRODUCT_FROM: f64 = 0.5;

/// How a Delta layer computes one weight matrix's non-recurrent products over a sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProductForm {
    /// Step by step over the fired columns only (`spmv_forward`, `spmv_backward`).
    PerColumn,
    /// As matrix-matrix products over the whole sequence's reference states (forward) or
    /// densified deltas and accumulated gradients G_t (backward), zeros included.
    Matrix,
}

impl ProductForm {
    /// The form for a matrix of whose `entries` input values over the sequence `fired` fired:
    /// [`ProductForm::Matrix`] from [`MATRIX_PRODUCT_FROM`] of them when `allowed`, else always
    /// [`ProductForm::PerColumn`].
    pub(crate) fn choose(allowed: bool, fired: usize, entries: usize) -> Self {
        if allowed && entries > 0 && fired as f64 >= MATRIX_PRODUCT_FROM * entries as f64 {
            ProductForm::Matrix
        } else {
            ProductForm::PerColumn
        }
    }
}

impl<T: Real> Layer<T> {
    /// The Delta forward pass over `steps` inputs (steps x F, row-major) at `thresholds`:
    /// M_t = M_{t-1} + W_x delta_x + W_h delta_h with M_0 = b, then the gates. Records the
    /// activity trace, the gates, the cell values and h_t in `tape`. `product_form` allows
    /// [`ProductForm::Matrix`] for the input matrix.
    pub(super) fn forward_delta(
        &self,
        inputs: &[T],
        steps: usize,
        thresholds: Thresholds,
        product_form: bool,
        tape: &mut LayerTape<T>,
    ) {
        let (f, h, m) = (self.n_input, self.n_hidden, self.memory_len());
        let (ho, rows) = (self.hidden_offset(), self.w_x.rows);
        self.prepare_tape(tape, steps);
        let zeros = vec![T::ZERO; h];
        let mut memory = vec![T::ZERO; m];
        self.initial_memory(&mut memory);
        let mut h_ref = vec![T::ZERO; h];
        // Input deltas do not depend on the recurrence, so the whole sequence is encoded first;
        // the reference states x_ref of every step are kept in case the matrix form is chosen.
        let mut x_ref = vec![T::ZERO; f];
        let mut references = vec![T::ZERO; steps * f];
        for t in 0..steps {
            encode(&mut tape.trace.input, &inputs[t * f..(t + 1) * f], &mut x_ref, T::from_f64(thresholds.input));
            references[t * f..(t + 1) * f].copy_from_slice(&x_ref);
        }
        // Matrix form: W_x x_ref_t for every step as one product (T, rows); M_t then holds the
        // bias and the hidden part, and the gates read M_t plus this step's projection row.
        let projection = match ProductForm::choose(product_form, tape.trace.input.fired(), steps * f) {
            ProductForm::PerColumn => None,
            ProductForm::Matrix => {
                let mut projection = vec![T::ZERO; steps * rows];
                dense::input_projection(&mut projection, &self.w_x, &references, steps);
                Some(projection)
            }
        };
        let mut gate_input = vec![T::ZERO; m];
        for t in 0..steps {
            let h_prev = if t == 0 { &zeros[..] } else { &tape.hidden[(t - 1) * h..t * h] };
            encode(&mut tape.trace.hidden, h_prev, &mut h_ref, T::from_f64(thresholds.hidden));
            match &projection {
                None => {
                    self.accumulate(&mut memory, &tape.trace, t); // per fired column, as streaming does
                    self.step_gates(tape, t, &memory, &zeros);
                }
                Some(projection) => {
                    let (idx, val) = tape.trace.hidden.step(t);
                    spmv_forward(&mut memory[ho..ho + rows], &self.w_h, idx, val);
                    gate_input.copy_from_slice(&memory);
                    self.add_projection_row(&mut gate_input, projection, t);
                    self.step_gates(tape, t, &gate_input, &zeros);
                }
            }
        }
    }

    /// The exact sparse backward of [`Layer::forward_delta`] (docs/derivations/sparse-bptt.md),
    /// accumulating (+=) every parameter gradient into `grads` and writing dL/dx into `dinputs`
    /// (zeroed by the caller) when given. Shapes as [`Layer::backward`]. `product_form` allows
    /// [`ProductForm::Matrix`].
    ///
    /// Backward in time: dL/dh_t, the gate gradients g_t, G_t = g_t + G_{t+1}; then per fired
    /// column j, e_j = (W^T G_t)_j and dW[:, j] += G_t delta_t[j]; then the kappa carry turns e
    /// into dL/dv_t. Finally db = G_1.
    pub(super) fn backward_delta(
        &self,
        grads: &mut Layer<T>,
        mut dinputs: Option<&mut [T]>,
        tape: &LayerTape<T>,
        dh_ext: &[T],
        l1_beta: T,
        product_form: bool,
    ) {
        let (f, h, m, steps) = (self.n_input, self.n_hidden, self.memory_len(), tape.steps);
        let (xo, ho, rows) = (self.input_offset(), self.hidden_offset(), self.w_x.rows);
        let trace = &tape.trace;
        let input_form = ProductForm::choose(product_form, trace.input.fired(), steps * f);
        let hidden_form = ProductForm::choose(product_form, trace.hidden.fired(), steps * h);
        let zeros = vec![T::ZERO; h];
        let mut gate_grad = vec![T::ZERO; m]; // g_t: dL/dM_t through the gates of step t
        let mut memory_grad = vec![T::ZERO; m]; // G_t: all of dL/dM_t (M_t also starts M_{t+1})
        let mut carry = vec![T::ZERO; h]; // LSTM dc, GRU direct dh
        let mut dh = vec![T::ZERO; h]; // dL/dh_t
        let mut dh_rec = vec![T::ZERO; h]; // dL/dh_t through the recurrence: dL/dv_{t+1}, hidden slice
        let mut kappa_x = vec![T::ZERO; f]; // -e_j at the next step input j fires
        let mut kappa_h = vec![T::ZERO; h];
        let mut e = vec![T::ZERO; f.max(h)]; // e_j = (W^T G_t)_j at this step's fired columns

        // G_t of every step, for the matrix form's products after the loop.
        let any_matrix = input_form == ProductForm::Matrix || hidden_form == ProductForm::Matrix;
        let mut memory_grads = any_matrix.then(|| vec![T::ZERO; steps * m]);
        for t in (0..steps).rev() {
            for ((d, &ext), &rec) in dh.iter_mut().zip(&dh_ext[t * h..(t + 1) * h]).zip(&dh_rec) {
                *d = ext + rec;
            }
            self.step_gates_backward(&mut gate_grad, &mut carry, &dh, tape, t, &zeros);
            for (g, &d) in memory_grad.iter_mut().zip(&gate_grad) {
                *g += d;
            }
            if let Some(all) = memory_grads.as_mut() {
                all[t * m..(t + 1) * m].copy_from_slice(&memory_grad);
            }
            let (g_x, g_h) = (&memory_grad[xo..xo + rows], &memory_grad[ho..ho + rows]);
            if input_form == ProductForm::PerColumn {
                let (idx, val) = trace.input.step(t);
                let e_x = &mut e[..idx.len()];
                spmv_backward(e_x, &mut grads.w_x, &self.w_x, g_x, idx, val);
                if let Some(dx) = dinputs.as_deref_mut() {
                    carry_back(&mut dx[t * f..(t + 1) * f], &mut kappa_x, idx, e_x);
                }
            }
            let (idx, val) = trace.hidden.step(t);
            let e_h = &mut e[..idx.len()];
            match hidden_form {
                ProductForm::PerColumn => spmv_backward(e_h, &mut grads.w_h, &self.w_h, g_h, idx, val),
                ProductForm::Matrix => spmv_transposed(e_h, &self.w_h, g_h, idx), // dW_h after the loop
            }
            if l1_beta != T::ZERO {
                for (ej, &delta) in e_h.iter_mut().zip(val) {
                    *ej += l1_beta * delta.signum_or_zero();
                }
            }
            if idx.len() < h {
                dh_rec.fill(T::ZERO); // silent hidden units pass no gradient to h_{t-1}
            }
            carry_back(&mut dh_rec, &mut kappa_h, idx, e_h);
        }
        if let Some(all) = &memory_grads {
            if input_form == ProductForm::Matrix {
                self.input_matrix_backward(grads, dinputs, tape, all, &mut kappa_x, &mut e);
            }
            if hidden_form == ProductForm::Matrix {
                // dW_h += G^T Delta_h over the densified hidden deltas.
                let deltas = trace.hidden.densify(h);
                dense::weight_gradient(&mut grads.w_h, &all[ho..], m, &deltas, steps);
            }
        }
        self.add_bias_gradients(grads, &memory_grad); // db = G_1
    }

    /// The input matrix's backward in the matrix form, after the time loop: dW_x += G^T Delta_x
    /// over the densified input deltas, and, when `dinputs` is given, E = G_x W_x for every step,
    /// whose entries at the fired inputs go through the kappa carry backward in time.
    ///
    /// Shapes: `memory_grads` (steps x 4H, G_t per step), `kappa_x` (F), `e` (at least F).
    fn input_matrix_backward(
        &self,
        grads: &mut Layer<T>,
        dinputs: Option<&mut [T]>,
        tape: &LayerTape<T>,
        memory_grads: &[T],
        kappa_x: &mut [T],
        e: &mut [T],
    ) {
        let (f, m, steps, xo) = (self.n_input, self.memory_len(), tape.steps, self.input_offset());
        let deltas = tape.trace.input.densify(f);
        dense::weight_gradient(&mut grads.w_x, &memory_grads[xo..], m, &deltas, steps);
        let Some(dx) = dinputs else { return };
        let mut e_all = vec![T::ZERO; steps * f];
        dense::input_gradient(&mut e_all, &self.w_x, &memory_grads[xo..], m, steps);
        for t in (0..steps).rev() {
            let (idx, _) = tape.trace.input.step(t);
            let e_x = &mut e[..idx.len()];
            for (ej, &j) in e_x.iter_mut().zip(idx) {
                *ej = e_all[t * f + j as usize];
            }
            carry_back(&mut dx[t * f..(t + 1) * f], kappa_x, idx, e_x);
        }
    }
}

/// dL/dx at the entries that fired at step t, carried back to where each input last fired:
/// `dx_t[j] = kappa[j] + e_j`, then `kappa[j] = -e_j` (spec section 3, the kappa carry).
/// Entries of `dx_t` that did not fire are left as they are.
///
/// Shapes: `dx_t` and `kappa` (n), `fired` and `e` (fired count, indices ascending and distinct).
/// Not inlined: as its own small loop it keeps its pointers in registers.
#[inline(never)]
pub(super) fn carry_back<T: Real>(dx_t: &mut [T], kappa: &mut [T], fired: &[u32], e: &[T]) {
    assert_eq!(fired.len(), e.len(), "fired and e lengths");
    if fired.len() == dx_t.len() {
        // Ascending distinct indices below n, n of them: every entry fired, in order.
        for ((d, k), &ej) in dx_t.iter_mut().zip(kappa.iter_mut()).zip(e) {
            *d = *k + ej;
            *k = -ej;
        }
        return;
    }
    for (&j, &ej) in fired.iter().zip(e) {
        let j = j as usize;
        dx_t[j] = kappa[j] + ej;
        kappa[j] = -ej;
    }
}
