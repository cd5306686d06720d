//! One Delta LSTM or Delta GRU layer run over a whole sequence, forward with a tape and the exact
//! temporally sparse backward of spec section 3.
//!
//! Weights are split like PyTorch's: `w_x` (gate rows, F) acts on the layer input and `w_h`
//! (gate rows, H) on the previous hidden state; both are column-major, so one fired index is one
//! contiguous column. Both products accumulate into one memory vector of 4H entries (LSTM: i, f,
//! g, o; GRU: nx, r, z, nh, see [`crate::nn::gru`]); `w_x` writes rows starting at
//! [`Layer::input_offset`], `w_h` rows starting at [`Layer::hidden_offset`].

use super::{gru, lstm, CellKind, Mode};
use crate::delta::{encode, ActivityTrace};
use crate::kernels::{spmv_forward, ColMajor, Real};

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
    /// [`Mode::DeltaInFormat`]: the first FXP16 overflow of the forward or backward pass and
    /// the tensors' ranges (untouched in the other modes).
    pub datapath: super::datapath::DatapathReport,
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
            datapath: Default::default(),
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
        assert_eq!(inputs.len(), steps * self.n_input, "inputs length");
        match mode {
            Mode::Delta(thresholds) | Mode::DeltaPerColumn(thresholds) => {
                self.forward_delta(inputs, steps, thresholds, mode.allows_product_form(), tape)
            }
            Mode::DeltaInFormat(thresholds, datapath) => {
                self.forward_in_format(inputs, steps, thresholds, datapath, tape)
            }
            Mode::Dense => self.forward_dense(inputs, steps, tape),
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
    pub(super) fn accumulate(&self, memory: &mut [T], trace: &ActivityTrace<T>, t: usize) {
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
        let (f, h, steps) = (self.n_input, self.n_hidden, tape.steps);
        assert_eq!(inputs.len(), steps * f, "inputs length");
        assert_eq!(dh_ext.len(), steps * h, "dh_ext length");
        if let Some(dx) = dinputs.as_deref_mut() {
            assert_eq!(dx.len(), steps * f, "dinputs length");
            dx.fill(T::ZERO);
        }
        match mode {
            Mode::Delta(_) | Mode::DeltaPerColumn(_) => {
                self.backward_delta(grads, dinputs, tape, dh_ext, l1_beta, mode.allows_product_form())
            }
            Mode::DeltaInFormat(_, datapath) => {
                self.backward_in_format(grads, dinputs, tape, dh_ext, l1_beta, datapath)
            }
            Mode::Dense => self.backward_dense(grads, dinputs, inputs, tape, dh_ext),
        }
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

    /// db = G_1: the bias sits in M_0, so it receives the whole gradient that reaches M_1,
    /// `memory_grad` (4H), the sum of every step's gate gradients.
    pub(super) fn add_bias_gradients(&self, grads: &mut Layer<T>, memory_grad: &[T]) {
        let (xo, ho, rows) = (self.input_offset(), self.hidden_offset(), self.w_x.rows);
        for (d, &g) in grads.b_x.iter_mut().zip(&memory_grad[xo..xo + rows]) {
            *d += g;
        }
        for (d, &g) in grads.b_h.iter_mut().zip(&memory_grad[ho..ho + rows]) {
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

/// Sets the length; forward overwrites every element, so old contents need not be cleared.
fn resize<T: Real>(v: &mut Vec<T>, len: usize) {
    v.resize(len, T::ZERO);
}
