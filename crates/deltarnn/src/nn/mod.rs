//! Delta LSTM and Delta GRU: cells, layers, the stacked model with its per-frame head, losses
//! and initialisation.

mod batch;
pub mod datapath;
mod delta_layer;
mod dense;
mod dense_layer;
mod format_layer;
pub mod gru;
pub(crate) mod init;
mod layer;
pub mod loss;
pub mod lstm;
mod model;

pub(crate) use delta_layer::ProductForm;
pub use delta_layer::MATRIX_PRODUCT_FROM;
pub use init::init_params;
pub use layer::{Layer, LayerState, LayerTape};
pub use model::{Head, Model, ModelConfig, Params, SequenceLoss, SequenceTape, StreamState, PARALLEL_BLOCK};

use crate::delta::Thresholds;

/// The recurrent cell of every layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellKind {
    /// Long short-term memory (gates i, f, g, o).
    Lstm,
    /// Gated recurrent unit, PyTorch's reset-after form (gates r, z, n).
    Gru,
}

impl CellKind {
    /// Number of gate blocks of H rows in each weight matrix: 4 for LSTM, 3 for GRU.
    pub fn gates(self) -> usize {
        match self {
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }

    /// "lstm" or "gru".
    pub fn name(self) -> &'static str {
        match self {
            CellKind::Lstm => "lstm",
            CellKind::Gru => "gru",
        }
    }
}

impl std::str::FromStr for CellKind {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "lstm" => Ok(CellKind::Lstm),
            "gru" => Ok(CellKind::Gru),
            other => Err(crate::Error::Invalid(format!("unknown cell '{other}', expected lstm or gru"))),
        }
    }
}

impl std::fmt::Display for CellKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a layer computes its memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Delta network: the memory accumulates (M_t = M_{t-1} + W delta_t) and backward is the
    /// temporally sparse BPTT. The recurrent products touch only fired columns; a matrix whose
    /// inputs mostly fired over the sequence (at least [`MATRIX_PRODUCT_FROM`]) has its
    /// non-recurrent products (input projection, weight gradient, dL/dx) run as matrix-matrix
    /// products over zero-filled deltas, which multiply the unfired columns too, faster per
    /// multiply-add. [`crate::cost::CostReport`] counts both: the fired columns (`actual_macs`)
    /// and what ran (`executed_macs`).
    Delta(Thresholds),
    /// The same Delta network with every product per fired column (`--no-product-form`): the
    /// multiply-adds executed are exactly the fired columns. Same gradient up to summation order.
    DeltaPerColumn(Thresholds),
    /// The Delta network with its three matrix products (forward MxV, backward MTxV, weight
    /// gradient VxV) computed as the accelerator computes them, in its number format and order
    /// ([`datapath`]); per fired column, like [`Mode::DeltaPerColumn`].
    DeltaInFormat(Thresholds, datapath::Datapath),
    /// Standard LSTM/GRU with ordinary BPTT: every column every step (M_t = b + W v_t).
    Dense,
}

impl Mode {
    /// The standard network when `dense`, else the Delta network at `thresholds`: the one place a
    /// dense/Delta switch (a flag, [`crate::train::TrainConfig::dense`]) becomes a mode.
    pub fn new(dense: bool, thresholds: Thresholds) -> Mode {
        if dense {
            Mode::Dense
        } else {
            Mode::Delta(thresholds)
        }
    }

    /// Which network this is, without its thresholds.
    pub fn kind(self) -> ModeKind {
        match self {
            Mode::Delta(_) | Mode::DeltaPerColumn(_) | Mode::DeltaInFormat(..) => ModeKind::Delta,
            Mode::Dense => ModeKind::Dense,
        }
    }

    /// The firing thresholds of a Delta mode (None when dense).
    pub fn thresholds(self) -> Option<Thresholds> {
        match self {
            Mode::Delta(t) | Mode::DeltaPerColumn(t) | Mode::DeltaInFormat(t, _) => Some(t),
            Mode::Dense => None,
        }
    }

    /// This mode with the product form switched off (`allowed` false) or left as it is: a Delta
    /// mode becomes [`Mode::DeltaPerColumn`]; dense stays dense.
    pub fn with_product_form(self, allowed: bool) -> Mode {
        match self {
            Mode::Delta(t) | Mode::DeltaPerColumn(t) if !allowed => Mode::DeltaPerColumn(t),
            other => other,
        }
    }

    /// Whether a Delta layer may use [`ProductForm::Matrix`] in this mode.
    pub(crate) fn allows_product_form(self) -> bool {
        matches!(self, Mode::Delta(_))
    }
}

/// Which network a [`Mode`] runs, without its thresholds: how epoch records, metrics and reports
/// name it ("delta" or "dense").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModeKind {
    /// The Delta network with temporally sparse BPTT.
    Delta,
    /// The standard network with dense BPTT.
    Dense,
}

impl ModeKind {
    /// "delta" or "dense".
    pub fn name(self) -> &'static str {
        match self {
            ModeKind::Delta => "delta",
            ModeKind::Dense => "dense",
        }
    }
}

impl std::fmt::Display for ModeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
