//! The cost model: dense and actual multiply-accumulates per layer and per matrix op, elementwise
//! work counted separately, and temporal sparsity, all read from the activity trace.
//!
//! Conventions (spec section 3, the authors' design sheet): 2 ops per MAC; per layer and step the
//! dense matrix work is 3 x rows x (F + H) MACs (forward product, backward product, weight-gradient
//! outer product, rows = 4H for LSTM and 3H for GRU); the actual work visits only fired columns.
//! The executed work is what the kernels multiplied: the fired columns, except where a Delta
//! layer ran a matrix's non-recurrent products in the matrix product form
//! ([`crate::nn::MATRIX_PRODUCT_FROM`]), which multiplies every column of that matrix.
//! Temporal sparsity is the fraction of exactly-zero delta elements. Sequences are processed at
//! their own length, so padded frames never exist and are never counted.

use crate::delta::ActivityTrace;
use crate::kernels::Real;
use crate::nn::{CellKind, Mode, ModelConfig, ProductForm, SequenceTape};

/// Elementwise operations per hidden unit and step, forward: LSTM 4 activations + 3 for c_t +
/// 1 tanh + 1 for h_t; GRU 2 activations + 3 for n + 4 for h_t.
const FORWARD_ELEMENTWISE_PER_UNIT: u64 = 9;
/// Elementwise operations per hidden unit and step, backward: the gate gradients (LSTM 5 x 4 + 1
/// carry; GRU 16) plus 4 for accumulating G.
const fn backward_elementwise_per_unit(cell: CellKind) -> u64 {
    match cell {
        CellKind::Lstm => 25,
        CellKind::Gru => 20,
    }
}
/// Delta encoder operations per element of v = [x ; h] and step: a subtraction and a comparison.
const ENCODER_PER_ELEMENT: u64 = 2;

/// Dense, actual and executed multiply-accumulates of one kind of matrix op.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpCount {
    /// What a dense implementation multiplies.
    pub dense_macs: u64,
    /// The algorithm's work: the fired columns only (what a per-column implementation, or the
    /// accelerator, multiplies).
    pub actual_macs: u64,
    /// What this implementation's kernels multiplied: `actual_macs`, plus the unfired columns of
    /// a matrix whose products ran in the matrix product form.
    #[serde(default)]
    pub executed_macs: u64,
}

impl OpCount {
    fn add(&mut self, other: OpCount) {
        self.dense_macs += other.dense_macs;
        self.actual_macs += other.actual_macs;
        self.executed_macs += other.executed_macs;
    }
    /// Executed operations (2 per MAC).
    pub fn executed_ops(&self) -> u64 {
        2 * self.executed_macs
    }
    /// Dense operations (2 per MAC).
    pub fn dense_ops(&self) -> u64 {
        2 * self.dense_macs
    }
    /// Actual operations (2 per MAC).
    pub fn actual_ops(&self) -> u64 {
        2 * self.actual_macs
    }
    /// Fraction of the dense work skipped: 1 - actual / dense (0 when there is no work).
    pub fn reduction(&self) -> f64 {
        if self.dense_macs == 0 {
            0.0
        } else {
            1.0 - self.actual_macs as f64 / self.dense_macs as f64
        }
    }
}

/// Work and activity of one layer, summed over the sequences counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerCost {
    /// Steps counted.
    pub steps: u64,
    /// Forward M += W delta.
    pub forward_mxv: OpCount,
    /// Backward e = W^T G on fired columns.
    pub backward_mxv: OpCount,
    /// Weight gradient dW += G delta^T on fired columns.
    pub weight_grad: OpCount,
    /// Elementwise forward operations (encoder and gates), dense by nature.
    pub elementwise_forward_ops: u64,
    /// Elementwise backward operations (gate gradients, G accumulation).
    pub elementwise_backward_ops: u64,
    /// delta_x elements (steps x F).
    pub input_elements: u64,
    /// Fired delta_x elements.
    pub input_fired: u64,
    /// Non-zero delta_x elements.
    pub input_nonzero: u64,
    /// delta_h elements (steps x H).
    pub hidden_elements: u64,
    /// Fired delta_h elements.
    pub hidden_fired: u64,
    /// Non-zero delta_h elements.
    pub hidden_nonzero: u64,
}

impl LayerCost {
    /// Temporal sparsity of this layer (or of a total).
    pub fn sparsity(&self) -> Sparsity {
        let t = self;
        let frac = |zero: u64, all: u64| {
            if all == 0 {
                0.0
            } else {
                zero as f64 / all as f64
            }
        };
        Sparsity {
            delta_x: frac(t.input_elements - t.input_nonzero, t.input_elements),
            delta_h: frac(t.hidden_elements - t.hidden_nonzero, t.hidden_elements),
            overall: frac(
                t.input_elements + t.hidden_elements - t.input_nonzero - t.hidden_nonzero,
                t.input_elements + t.hidden_elements,
            ),
        }
    }

    /// Counts one layer's trace (delta mode), every product per fired column (executed = actual).
    pub fn from_trace<T: Real>(cell: CellKind, trace: &ActivityTrace<T>) -> Self {
        let (f, h, steps) = (trace.n_input as u64, trace.n_hidden as u64, trace.steps() as u64);
        let rows = cell.gates() as u64 * h;
        let fired = trace.input.fired() as u64 * rows + trace.hidden.fired() as u64 * rows;
        let per_op = OpCount { dense_macs: steps * rows * (f + h), actual_macs: fired, executed_macs: fired };
        LayerCost {
            steps,
            forward_mxv: per_op,
            backward_mxv: per_op,
            weight_grad: per_op,
            elementwise_forward_ops: steps * (FORWARD_ELEMENTWISE_PER_UNIT * h + ENCODER_PER_ELEMENT * (f + h)),
            elementwise_backward_ops: steps * backward_elementwise_per_unit(cell) * h,
            input_elements: steps * f,
            input_fired: trace.input.fired() as u64,
            input_nonzero: trace.input.nonzero() as u64,
            hidden_elements: steps * h,
            hidden_fired: trace.hidden.fired() as u64,
            hidden_nonzero: trace.hidden.nonzero() as u64,
        }
    }

    /// Counts a dense (standard LSTM/GRU) layer over `steps` steps: every column every step.
    pub fn dense(cell: CellKind, n_input: usize, n_hidden: usize, steps: usize) -> Self {
        let (f, h, steps) = (n_input as u64, n_hidden as u64, steps as u64);
        let rows = cell.gates() as u64 * h;
        let all = steps * rows * (f + h);
        let per_op = OpCount { dense_macs: all, actual_macs: all, executed_macs: all };
        LayerCost {
            steps,
            forward_mxv: per_op,
            backward_mxv: per_op,
            weight_grad: per_op,
            elementwise_forward_ops: steps * FORWARD_ELEMENTWISE_PER_UNIT * h,
            elementwise_backward_ops: steps * backward_elementwise_per_unit(cell) * h,
            input_elements: steps * f,
            input_fired: steps * f,
            input_nonzero: steps * f,
            hidden_elements: steps * h,
            hidden_fired: steps * h,
            hidden_nonzero: steps * h,
        }
    }

    /// Counts one layer's trace as [`crate::nn::Layer::forward`] and `backward` in
    /// [`Mode::Delta`] ran it: a matrix whose inputs fired at least
    /// [`crate::nn::MATRIX_PRODUCT_FROM`] of the time executed its non-recurrent products in the
    /// matrix product form, every column; the input gradient E = G W_x of that form ran only
    /// when `input_gradient` (every layer but the bottom one in training).
    pub fn from_delta_run<T: Real>(
        cell: CellKind,
        trace: &ActivityTrace<T>,
        product_form: bool,
        input_gradient: bool,
    ) -> Self {
        let mut cost = Self::from_trace(cell, trace);
        let (f, h, steps) = (trace.n_input as u64, trace.n_hidden as u64, trace.steps() as u64);
        let rows = cell.gates() as u64 * h;
        let (fired_x, fired_h) = (trace.input.fired() as u64 * rows, trace.hidden.fired() as u64 * rows);
        let matrix = |fired: usize, entries: u64| {
            ProductForm::choose(product_form, fired, entries as usize) == ProductForm::Matrix
        };
        let (x_matrix, h_matrix) = (matrix(trace.input.fired(), steps * f), matrix(trace.hidden.fired(), steps * h));
        let (all_x, all_h) = (steps * f * rows, steps * h * rows);
        let x_products = if x_matrix { all_x } else { fired_x };
        cost.forward_mxv.executed_macs = x_products + fired_h;
        let x_gradient = match (x_matrix, input_gradient) {
            (false, _) => fired_x, // fused with the weight gradient, per fired column
            (true, true) => all_x,
            (true, false) => 0,
        };
        cost.backward_mxv.executed_macs = x_gradient + fired_h;
        cost.weight_grad.executed_macs = x_products + if h_matrix { all_h } else { fired_h };
        cost
    }

    fn add(&mut self, o: &LayerCost) {
        self.steps += o.steps;
        self.forward_mxv.add(o.forward_mxv);
        self.backward_mxv.add(o.backward_mxv);
        self.weight_grad.add(o.weight_grad);
        self.elementwise_forward_ops += o.elementwise_forward_ops;
        self.elementwise_backward_ops += o.elementwise_backward_ops;
        self.input_elements += o.input_elements;
        self.input_fired += o.input_fired;
        self.input_nonzero += o.input_nonzero;
        self.hidden_elements += o.hidden_elements;
        self.hidden_fired += o.hidden_fired;
        self.hidden_nonzero += o.hidden_nonzero;
    }

    /// All three matrix ops of a training step together.
    pub fn training(&self) -> OpCount {
        let mut total = self.forward_mxv;
        total.add(self.backward_mxv);
        total.add(self.weight_grad);
        total
    }
}

/// Temporal sparsity: the fraction of exactly-zero delta elements.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sparsity {
    /// Of delta_x.
    pub delta_x: f64,
    /// Of delta_h.
    pub delta_h: f64,
    /// Of both together.
    pub overall: f64,
}

/// The cost of a model over one or more sequences.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CostReport {
    /// Per layer, bottom first.
    pub layers: Vec<LayerCost>,
    /// Frames counted.
    pub frames: u64,
    /// Head MACs per direction (forward W h; the backward product and weight gradient are the
    /// same again each); dense, never skipped.
    pub head_macs: u64,
}

impl CostReport {
    /// Counts one forward (and, for training, backward) pass recorded in `tape`.
    pub fn from_tape<T: Real>(config: &ModelConfig, tape: &SequenceTape<T>, mode: Mode) -> Self {
        let layers = match mode {
            Mode::Delta(_) | Mode::DeltaPerColumn(_) | Mode::DeltaInFormat(..) => tape
                .layers
                .iter()
                .enumerate()
                .map(|(k, l)| LayerCost::from_delta_run(config.cell, &l.trace, mode.allows_product_form(), k > 0))
                .collect(),
            Mode::Dense => (0..config.n_layers)
                .map(|k| LayerCost::dense(config.cell, config.layer_input(k), config.n_hidden, tape.steps))
                .collect(),
        };
        CostReport {
            layers,
            frames: tape.steps as u64,
            head_macs: (tape.steps * config.n_classes * config.n_hidden) as u64,
        }
    }

    /// Adds another report of the same model (e.g. the next sequence of a batch).
    pub fn add(&mut self, other: &CostReport) {
        if self.layers.is_empty() {
            self.layers = vec![LayerCost::default(); other.layers.len()];
        }
        for (a, b) in self.layers.iter_mut().zip(&other.layers) {
            a.add(b);
        }
        self.frames += other.frames;
        self.head_macs += other.head_macs;
    }

    /// Every layer summed.
    pub fn total(&self) -> LayerCost {
        let mut t = LayerCost::default();
        for l in &self.layers {
            t.add(l);
        }
        t
    }

    /// Temporal sparsity over every layer.
    pub fn sparsity(&self) -> Sparsity {
        self.total().sparsity()
    }

    /// A JSON summary: per layer and total, dense, actual and executed ops of each matrix op, the
    /// training reduction and the sparsity.
    pub fn to_json(&self) -> serde_json::Value {
        let op = |o: &OpCount| {
            serde_json::json!({
                "dense_ops": o.dense_ops(),
                "actual_ops": o.actual_ops(),
                "executed_ops": o.executed_ops(),
                "reduction": o.reduction(),
            })
        };
        let layer = |l: &LayerCost| {
            let frac = |zero: u64, all: u64| {
                if all == 0 {
                    0.0
                } else {
                    zero as f64 / all as f64
                }
            };
            serde_json::json!({
                "steps": l.steps,
                "forward_mxv": op(&l.forward_mxv),
                "backward_mxv": op(&l.backward_mxv),
                "weight_grad": op(&l.weight_grad),
                "training": op(&l.training()),
                "elementwise_forward_ops": l.elementwise_forward_ops,
                "elementwise_backward_ops": l.elementwise_backward_ops,
                "sparsity_delta_x": frac(l.input_elements - l.input_nonzero, l.input_elements),
                "sparsity_delta_h": frac(l.hidden_elements - l.hidden_nonzero, l.hidden_elements),
                "fired_fraction": frac(l.input_fired + l.hidden_fired, l.input_elements + l.hidden_elements),
            })
        };
        let total = self.total();
        serde_json::json!({
            "frames": self.frames,
            "layers": self.layers.iter().map(layer).collect::<Vec<_>>(),
            "total": layer(&total),
            "head_ops_per_direction": 2 * self.head_macs,
            "sparsity": self.sparsity(),
        })
    }
}
