//! One Delta LSTM or Delta GRU layer run over a whole sequence, forward with a tape and the exact
//! temporally sparse backward of spec section 3.
//!
//! Weights are split like PyTorch's: `w_x` (gate rows, F) acts on the layer input and `w_h`
//! (gate rows, H) on the previous hidden state; both are column-major, so one fired index is one
//! contiguous column. Both products accumulate into one memory vector of 4H entries (LSTM: i, f,
//! g, o; GRU: nx, r, z, nh, see [`crate::nn::gru`]); `w_x` writes rows starting at
//! [`Layer::input_offset`], `w_h` rows starting at [`Layer::hidden_offset`].

use super::{dense, gru, lstm, CellKind, Mode};
use crate::delta::{encode, ActivityTrace};
use crate::kernels::{dense_forward, dense_transposed, spmv_backward, spmv_forward, spmv_transposed, ColMajor, Real};

/// The parameters of one recurrent layer (also used, zero-filled, as its gradient).
#[derive(Debug, Clone, PartialEq)]
pub struct Layer<T> {
    /// LSTM or GRU.
    pub cell: CellKind,
    /// F_k: length of the layer input.
    pub n_input: usize,
    /// H: hidden size.
    pub n_hidden: usize,
    /// Input weights, shape (gate rows, F), column-major. LSTM rows i, f, g, o; GRU rows n, r, z.
    pub w_x: ColMajor<T>,
    /// Hidden weights, shape (gate rows, H), column-major. LSTM rows i, f, g, o; GRU rows r, z, n.
    pub w_h: ColMajor<T>,
    /// Input bias (gate rows), same row order as `w_x`.
    pub b_x: Vec<T>,
    /// Hidden bias (gate rows), same row order as `w_h`.
    pub b_h: Vec<T>,
}

/// What the backward pass needs from the forward pass of one layer over one sequence.
#[derive(Debug, Clone)]
pub struct LayerTape<T> {
    /// Number of steps.
    pub steps: usize,
    /// Fired indices and deltas per step (empty in [`Mode::Dense`]).
    pub trace: ActivityTrace<T>,
    /// Per step, the 4H gate values (LSTM: i, f, g, o; GRU: r, z, n, M_nh).
    pub gates: Vec<T>,
    /// Per step, LSTM c_t and tanh(c_t) (2H); empty for GRU.
    pub cell: Vec<T>,
    /// Per step, h_t (H).
    pub hidden: Vec<T>,
}

impl<T: Real> LayerTape<T> {
    /// An empty tape; [`Layer::forward`] sizes it.
    pub fn new() -> Self {
        LayerTape {
            steps: 0,
            trace: ActivityTrace::with_capacity(0, 0, 0),
            gates: Vec::new(),
            cell: Vec::new(),
            hidden: Vec::new(),
        }
    }

    /// h_t for step `t`.
    pub fn h(&self, t: usize) -> &[T] {
        let n = self.trace.n_hidden;
        &self.hidden[t * n..(t + 1) * n]
    }
}

impl<T: Real> Default for LayerTape<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The running state of one layer for step-by-step (streaming) inference.
#[derive(Debug, Clone)]
pub struct LayerState<T> {
    /// Reference state of the input (last value sent).
    pub x_ref: Vec<T>,
    /// Reference state of the hidden vector (last value sent).
    pub h_ref: Vec<T>,
    /// The delta memory M (4H); invariant: M == b + W [x_ref ; h_ref].
    pub memory: Vec<T>,
    /// h_t.
    pub h: Vec<T>,
    /// LSTM c_t (zero for GRU).
    pub c: Vec<T>,
    scratch: StepScratch<T>,
}

#[derive(Debug, Clone)]
struct StepScratch<T> {
    trace: ActivityTrace<T>,
    gates: Vec<T>,
    cell: Vec<T>,
    h_next: Vec<T>,
}

impl<T: Real> Layer<T> {
    /// A layer with every parameter zero.
    pub fn zeros(cell: CellKind, n_input: usize, n_hidden: usize) -> Self {
        let rows = cell.gates() * n_hidden;
        Layer {
            cell,
            n_input,
            n_hidden,
            w_x: ColMajor::zeros(rows, n_input),
            w_h: ColMajor::zeros(rows, n_hidden),
            b_x: vec![T::ZERO; rows],
            b_h: vec![T::ZERO; rows],
        }
    }

    /// Length of the memory vector: 4H for both cells.
    pub fn memory_len(&self) -> usize {
        4 * self.n_hidden
    }

    /// First memory row written by the input product.
    pub fn input_offset(&self) -> usize {
        0
    }

    /// First memory row written by the hidden product (GRU: after the M_nx block).
    pub fn hidden_offset(&self) -> usize {
        match self.cell {
            CellKind::Lstm => 0,
            CellKind::Gru => self.n_hidden,
        }
    }

    pub(super) fn cell_width(&self) -> usize {
        match self.cell {
            CellKind::Lstm => 2 * self.n_hidden,
            CellKind::Gru => 0,
        }
    }

    /// Writes M_0 = b_x + b_h, each bias at its rows (spec: the bias enters once, at the start).
    pub fn initial_memory(&self, memory: &mut [T]) {
        assert_eq!(memory.len(), self.memory_len(), "memory length");
        memory.fill(T::ZERO);
        let (xo, ho) = (self.input_offset(), self.hidden_offset());
        for (m, &b) in memory[xo..xo + self.b_x.len()].iter_mut().zip(&self.b_x) {
            *m += b;
        }
        for (m, &b) in memory[ho..ho + self.b_h.len()].iter_mut().zip(&self.b_h) {
            *m += b;
        }
    }

    /// Runs the layer over `steps` input vectors (`inputs` is steps x F, row-major), recording
    /// in `tape` what [`Layer::backward`] needs. Allocations in `tape` are reused.
    #[track_caller]
    pub fn forward(&self, inputs: &[T], steps: usize, mode: Mode, tape: &mut LayerTape<T>) {
        let (f, h, m) = (self.n_input, self.n_hidden, self.memory_len());
        assert_eq!(inputs.len(), steps * f, "inputs length");
        self.prepare_tape(tape, steps);
        let zeros = vec![T::ZERO; h];
        let mut bias_memory = vec![T::ZERO; m];
        self.initial_memory(&mut bias_memory);
        let mut memory = bias_memory.clone();
        let mut x_ref = vec![T::ZERO; f];
        let mut h_ref = vec![T::ZERO; h];
        let (ho, rows) = (self.hidden_offset(), self.w_x.rows);
        // The input part of every step as one matrix product (T, rows), when it is the cheaper way:
        // always in dense mode (W_x X^T); in delta mode (W_x X_ref^T) when most inputs fired.
        let mut projection = Vec::new();
        match mode {
            Mode::Dense => {
                projection = vec![T::ZERO; steps * rows];
                dense::input_projection(&mut projection, &self.w_x, inputs, steps);
            }
            Mode::Delta(thresholds) => {
                // Input deltas do not depend on the recurrence, so the whole sequence is encoded
                // first; the reference states are kept in case the product form is chosen.
                let mut references = vec![T::ZERO; steps * f];
                for t in 0..steps {
                    encode(
                        &mut tape.trace.input,
                        &inputs[t * f..(t + 1) * f],
                        &mut x_ref,
                        T::from_f64(thresholds.input),
                    );
                    references[t * f..(t + 1) * f].copy_from_slice(&x_ref);
                }
                if use_matrix_product(tape.trace.input.fired(), steps * f) {
                    projection = vec![T::ZERO; steps * rows];
                    dense::input_projection(&mut projection, &self.w_x, &references, steps);
                }
            }
        }
        let mut scratch = vec![T::ZERO; m];
        for t in 0..steps {
            let h_prev = if t == 0 { &zeros[..] } else { &tape.hidden[(t - 1) * h..t * h] };
            match mode {
                Mode::Delta(thresholds) => {
                    let trace = &mut tape.trace;
                    encode(&mut trace.hidden, h_prev, &mut h_ref, T::from_f64(thresholds.hidden));
                    if projection.is_empty() {
                        self.accumulate(&mut memory, trace, t); // per fired column, as streaming does
                    } else {
                        let (idx, val) = trace.hidden.step(t);
                        spmv_forward(&mut memory[ho..ho + rows], &self.w_h, idx, val);
                    }
                }
                Mode::Dense => {
                    // M_t = b + (W_x x_t, this step's row of the projection) + W_h h_{t-1}.
                    memory.copy_from_slice(&bias_memory);
                    self.add_projection_row(&mut memory, &projection, t);
                    if t > 0 {
                        dense_forward(&mut memory[ho..ho + rows], &self.w_h, h_prev);
                    }
                }
            }
            // The gates read M_t; in delta mode with the product form, M_t is the accumulated
            // part plus this step's row of the input projection.
            let gate_input = if projection.is_empty() || mode == Mode::Dense {
                &memory
            } else {
                scratch.copy_from_slice(&memory);
                self.add_projection_row(&mut scratch, &projection, t);
                &scratch
            };
            self.step_gates(tape, t, gate_input, &zeros);
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

    /// Step `t` of the gates from M_t (`memory`), reading h_{t-1} and c_{t-1} from `tape` (zeros
    /// at t = 0; `zeros` has H entries) and writing the step's gates, cell values and h_t into it.
    pub(super) fn step_gates(&self, tape: &mut LayerTape<T>, t: usize, memory: &[T], zeros: &[T]) {
        let (h, m, cw) = (self.n_hidden, self.memory_len(), self.cell_width());
        let (h_done, h_rest) = tape.hidden.split_at_mut(t * h);
        let h_prev = if t == 0 { zeros } else { &h_done[(t - 1) * h..] };
        let gates = &mut tape.gates[t * m..(t + 1) * m];
        let (c_done, c_rest) = tape.cell.split_at_mut(t * cw);
        let c_prev = if t == 0 || cw == 0 { zeros } else { &c_done[(t - 1) * cw..(t - 1) * cw + h] };
        self.gates_forward(gates, &mut c_rest[..cw], &mut h_rest[..h], memory, h_prev, c_prev);
    }

    /// Sizes `tape` for `steps` steps of this layer and empties its trace.
    pub(super) fn prepare_tape(&self, tape: &mut LayerTape<T>, steps: usize) {
        let (f, h, m, cw) = (self.n_input, self.n_hidden, self.memory_len(), self.cell_width());
        tape.steps = steps;
        tape.trace.n_input = f;
        tape.trace.n_hidden = h;
        tape.trace.input.clear();
        tape.trace.hidden.clear();
        resize(&mut tape.gates, steps * m);
        resize(&mut tape.cell, steps * cw);
        resize(&mut tape.hidden, steps * h);
    }

    /// M += W delta over the entries of step `t` of `trace`.
    fn accumulate(&self, memory: &mut [T], trace: &ActivityTrace<T>, t: usize) {
        let (xo, ho, rows) = (self.input_offset(), self.hidden_offset(), self.w_x.rows);
        let (idx, val) = trace.input.step(t);
        spmv_forward(&mut memory[xo..xo + rows], &self.w_x, idx, val);
        let (idx, val) = trace.hidden.step(t);
        spmv_forward(&mut memory[ho..ho + rows], &self.w_h, idx, val);
    }

    fn gates_forward(
        &self,
        gates: &mut [T],
        cell: &mut [T],
        h_out: &mut [T],
        memory: &[T],
        h_prev: &[T],
        c_prev: &[T],
    ) {
        match self.cell {
            CellKind::Lstm => lstm::lstm_forward_step(gates, cell, h_out, memory, c_prev),
            CellKind::Gru => gru::gru_forward_step(gates, h_out, memory, h_prev),
        }
    }

    /// The state at the start of a sequence, for [`Layer::step`].
    pub fn new_state(&self) -> LayerState<T> {
        let (f, h, m) = (self.n_input, self.n_hidden, self.memory_len());
        let mut memory = vec![T::ZERO; m];
        self.initial_memory(&mut memory);
        LayerState {
            x_ref: vec![T::ZERO; f],
            h_ref: vec![T::ZERO; h],
            memory,
            h: vec![T::ZERO; h],
            c: vec![T::ZERO; h],
            scratch: StepScratch {
                trace: ActivityTrace::with_capacity(f, h, 1),
                gates: vec![T::ZERO; m],
                cell: vec![T::ZERO; self.cell_width()],
                h_next: vec![T::ZERO; h],
            },
        }
    }

    /// Advances a Delta layer by one step (streaming inference). Returns the number of fired
    /// input and hidden entries. Gives the same h_t as [`Layer::forward`] in delta mode.
    #[track_caller]
    pub fn step(&self, state: &mut LayerState<T>, x_t: &[T], thresholds: crate::Thresholds) -> (usize, usize) {
        assert_eq!(x_t.len(), self.n_input, "x_t length");
        let s = &mut state.scratch;
        s.trace.input.clear();
        s.trace.hidden.clear();
        let fired_x = encode(&mut s.trace.input, x_t, &mut state.x_ref, T::from_f64(thresholds.input));
        let fired_h = encode(&mut s.trace.hidden, &state.h, &mut state.h_ref, T::from_f64(thresholds.hidden));
        self.accumulate(&mut state.memory, &s.trace, 0);
        self.gates_forward(&mut s.gates, &mut s.cell, &mut s.h_next, &state.memory, &state.h, &state.c);
        std::mem::swap(&mut state.h, &mut s.h_next);
        if self.cell == CellKind::Lstm {
            state.c.copy_from_slice(&s.cell[..self.n_hidden]);
        }
        (fired_x, fired_h)
    }

    /// Exact backward over the sequence recorded in `tape` (spec section 3), accumulating every
    /// parameter gradient into `grads` (+=).
    ///
    /// Shapes: `inputs` (steps x F, as given to forward), `dh_ext` (steps x H: dL/dh_t from the
    /// head or the layer above), `dinputs` (steps x F, overwritten with dL/dx_t) when wanted.
    /// `l1_beta` adds beta * sign(delta_h) to the hidden-column gradients (delta mode only).
    #[allow(clippy::too_many_arguments)]
    #[track_caller]
    pub fn backward(
        &self,
        grads: &mut Layer<T>,
        mut dinputs: Option<&mut [T]>,
        inputs: &[T],
        tape: &LayerTape<T>,
        mode: Mode,
        dh_ext: &[T],
        l1_beta: T,
    ) {
        let (f, h, m, steps) = (self.n_input, self.n_hidden, self.memory_len(), tape.steps);
        let (xo, ho, rows) = (self.input_offset(), self.hidden_offset(), self.w_x.rows);
        assert_eq!(inputs.len(), steps * f, "inputs length");
        assert_eq!(dh_ext.len(), steps * h, "dh_ext length");
        let zeros = vec![T::ZERO; h];
        let mut total = vec![T::ZERO; m]; // G: dL/dM accumulated from the end (delta mode)
        let mut dmemory = vec![T::ZERO; m]; // this step's gate gradients
        let mut carry = vec![T::ZERO; h]; // LSTM dc, GRU direct dh
        let mut dh = vec![T::ZERO; h];
        let mut dh_rec = vec![T::ZERO; h]; // hidden slice of dL/dv_{t+1} = dL/dh_t via recurrence
        let mut kappa_x = vec![T::ZERO; f]; // dL/dx_ref carried back to where each input last fired
        let mut kappa_h = vec![T::ZERO; h];
        let mut e = vec![T::ZERO; f.max(h)];
        // Which weight gradients are one matrix product after the loop (dense mode: both; delta
        // mode: a matrix whose inputs mostly fired), and every step's gradient that multiplies
        // them then (dense: the gate gradients g_t; delta: the accumulated G_t).
        let (x_product, h_product) = match mode {
            Mode::Dense => (true, true),
            Mode::Delta(_) => (
                use_matrix_product(tape.trace.input.fired(), steps * f),
                use_matrix_product(tape.trace.hidden.fired(), steps * h),
            ),
        };
        let mut step_grads = Vec::new();
        if x_product || h_product {
            step_grads = vec![T::ZERO; steps * m];
        }
        if let Some(dx) = dinputs.as_deref_mut() {
            assert_eq!(dx.len(), steps * f, "dinputs length");
            dx.fill(T::ZERO);
        }
        for t in (0..steps).rev() {
            for ((d, &ext), &rec) in dh.iter_mut().zip(&dh_ext[t * h..(t + 1) * h]).zip(&dh_rec) {
                *d = ext + rec;
            }
            self.step_gates_backward(&mut dmemory, &mut carry, &dh, tape, t, &zeros);
            for (g, &d) in total.iter_mut().zip(&dmemory) {
                *g += d;
            }
            match mode {
                Mode::Delta(_) => {
                    if !step_grads.is_empty() {
                        step_grads[t * m..(t + 1) * m].copy_from_slice(&total);
                    }
                    if !x_product {
                        let (idx, val) = tape.trace.input.step(t);
                        let e_x = &mut e[..idx.len()];
                        spmv_backward(e_x, &mut grads.w_x, &self.w_x, &total[xo..xo + rows], idx, val);
                        if let Some(dx) = dinputs.as_deref_mut() {
                            carry_back(&mut dx[t * f..(t + 1) * f], &mut kappa_x, idx, e_x);
                        }
                    }
                    let (idx, val) = tape.trace.hidden.step(t);
                    let e_h = &mut e[..idx.len()];
                    if h_product {
                        spmv_transposed(e_h, &self.w_h, &total[ho..ho + rows], idx);
                    } else {
                        spmv_backward(e_h, &mut grads.w_h, &self.w_h, &total[ho..ho + rows], idx, val);
                    }
                    if l1_beta != T::ZERO {
                        for (ej, &delta) in e_h.iter_mut().zip(val) {
                            *ej += l1_beta * delta.signum_or_zero();
                        }
                    }
                    if idx.len() < h {
                        dh_rec.fill(T::ZERO);
                    }
                    carry_back(&mut dh_rec, &mut kappa_h, idx, e_h);
                }
                Mode::Dense => {
                    step_grads[t * m..(t + 1) * m].copy_from_slice(&dmemory);
                    dense_transposed(&mut dh_rec, &self.w_h, &dmemory[ho..ho + rows]);
                }
            }
        }
        match mode {
            Mode::Dense => self.dense_weight_gradients(grads, dinputs, inputs, &tape.hidden, &step_grads, steps),
            Mode::Delta(_) => {
                // dW += G^T Delta over the densified deltas; dL/dx from E = G_x W_x at the fired entries.
                if x_product {
                    let deltas = tape.trace.input.densify(f);
                    dense::weight_gradient(&mut grads.w_x, &step_grads[xo..], m, &deltas, steps);
                    if let Some(dx) = dinputs {
                        let mut e_all = vec![T::ZERO; steps * f];
                        dense::input_gradient(&mut e_all, &self.w_x, &step_grads[xo..], m, steps);
                        for t in (0..steps).rev() {
                            let (idx, _) = tape.trace.input.step(t);
                            let e_x = &mut e[..idx.len()];
                            for (ej, &j) in e_x.iter_mut().zip(idx) {
                                *ej = e_all[t * f + j as usize];
                            }
                            carry_back(&mut dx[t * f..(t + 1) * f], &mut kappa_x, idx, e_x);
                        }
                    }
                }
                if h_product {
                    let deltas = tape.trace.hidden.densify(h);
                    dense::weight_gradient(&mut grads.w_h, &step_grads[ho..], m, &deltas, steps);
                }
            }
        }
        self.add_bias_gradients(grads, &total);
    }

    /// One step of the gates' backward (LSTM or GRU) at step `t` of `tape`: writes `dmemory`
    /// (4H) and updates `carry` (H) from `dh` (H), reading c_{t-1} or h_{t-1} from the tape
    /// (`zeros`, H entries, at t = 0).
    pub(super) fn step_gates_backward(
        &self,
        dmemory: &mut [T],
        carry: &mut [T],
        dh: &[T],
        tape: &LayerTape<T>,
        t: usize,
        zeros: &[T],
    ) {
        let (h, m, cw) = (self.n_hidden, self.memory_len(), self.cell_width());
        let gates = &tape.gates[t * m..(t + 1) * m];
        match self.cell {
            CellKind::Lstm => {
                let c_prev = if t == 0 { zeros } else { &tape.cell[(t - 1) * cw..(t - 1) * cw + h] };
                let cell = &tape.cell[t * cw..(t + 1) * cw];
                lstm::lstm_backward_step(dmemory, carry, dh, gates, cell, c_prev);
            }
            CellKind::Gru => {
                let h_prev = if t == 0 { zeros } else { tape.h(t - 1) };
                gru::gru_backward_step(dmemory, carry, dh, gates, h_prev);
            }
        }
    }

    /// Dense BPTT's weight gradients from every step's gate gradients, as matrix products over the
    /// sequence: dW_x += G_x^T X, dW_h += G_h^T [h_0 .. h_{T-2}] (h_{-1} = 0 adds nothing), and
    /// dX = G_x W_x (overwritten) when `dinputs` is given.
    ///
    /// Shapes: `step_grads` (steps x 4H), `inputs` (steps x F), `hidden` (steps x H), `dinputs`
    /// (steps x F).
    pub(super) fn dense_weight_gradients(
        &self,
        grads: &mut Layer<T>,
        dinputs: Option<&mut [T]>,
        inputs: &[T],
        hidden: &[T],
        step_grads: &[T],
        steps: usize,
    ) {
        let (m, xo, ho) = (self.memory_len(), self.input_offset(), self.hidden_offset());
        if steps == 0 {
            return;
        }
        dense::weight_gradient(&mut grads.w_x, &step_grads[xo..], m, inputs, steps);
        if steps > 1 {
            dense::weight_gradient(&mut grads.w_h, &step_grads[m + ho..], m, hidden, steps - 1);
        }
        if let Some(dx) = dinputs {
            dense::input_gradient(dx, &self.w_x, &step_grads[xo..], m, steps);
        }
    }

    /// db = G_1: the bias sits in M_0, so it receives the whole accumulated gradient `total` (4H).
    pub(super) fn add_bias_gradients(&self, grads: &mut Layer<T>, total: &[T]) {
        let (xo, ho, rows) = (self.input_offset(), self.hidden_offset(), self.w_x.rows);
        for (d, &g) in grads.b_x.iter_mut().zip(&total[xo..xo + rows]) {
            *d += g;
        }
        for (d, &g) in grads.b_h.iter_mut().zip(&total[ho..ho + rows]) {
            *d += g;
        }
    }

    /// Converts every parameter to another precision.
    pub fn cast<U: Real>(&self) -> Layer<U> {
        Layer {
            cell: self.cell,
            n_input: self.n_input,
            n_hidden: self.n_hidden,
            w_x: self.w_x.cast(),
            w_h: self.w_h.cast(),
            b_x: self.b_x.iter().map(|&v| U::from_f64(v.to_f64())).collect(),
            b_h: self.b_h.iter().map(|&v| U::from_f64(v.to_f64())).collect(),
        }
    }
}

/// Fired fraction of one matrix's entries over a sequence from which a Delta layer computes
/// that matrix's non-recurrent products (the input projection, the weight gradient, dL/dx) as
/// matrix-matrix products over the densified deltas and reference states instead of per fired
/// column: the product form does the dense number of multiply-adds but runs them 2-3x faster,
/// so it wins when most entries fired. Results are the same gradient up to summation order; the
/// cost report still counts the fired columns (the algorithm's work). Measured with
/// `deltarnn bench --sections step` against builds at 0.3 and 0.4; see docs/performance.md.
pub const MATRIX_PRODUCT_FROM: f64 = 0.5;

fn use_matrix_product(fired: usize, entries: usize) -> bool {
    entries > 0 && fired as f64 >= MATRIX_PRODUCT_FROM * entries as f64
}

/// dL/dx at the entries that fired at step t, carried back to where each input last fired:
/// `dx_t[j] = kappa[j] + e_j`, then `kappa[j] = -e_j` (spec section 3, the kappa carry).
/// Entries of `dx_t` that did not fire are left as they are.
///
/// Shapes: `dx_t` and `kappa` (n), `fired` and `e` (fired count, indices ascending and distinct).
/// Not inlined: as its own small loop it keeps its pointers in registers.
#[inline(never)]
fn carry_back<T: Real>(dx_t: &mut [T], kappa: &mut [T], fired: &[u32], e: &[T]) {
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

/// Sets the length; forward overwrites every element, so old contents need not be cleared.
fn resize<T: Real>(v: &mut Vec<T>, len: usize) {
    v.resize(len, T::ZERO);
}
