//! Compiling a layer's activity trace into the accelerator's instruction stream.

use crate::delta::ActivityTrace;
use crate::kernels::Real;
use crate::nn::CellKind;
use crate::rng::Rng;

/// The three matrix instruction classes of a training step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum OpClass {
    /// Forward M += W delta: each PE owns rows.
    Mxv,
    /// Backward e = W^T G on the fired columns: one dot product per column, reduced across PEs.
    Mtxv,
    /// Weight gradient dW[:, j] += G delta_j on the fired columns: each PE owns rows.
    Vxv,
}

impl OpClass {
    /// All classes, in the order reports list them.
    pub const ALL: [OpClass; 3] = [OpClass::Mxv, OpClass::Mtxv, OpClass::Vxv];

    /// Lowercase name ("mxv", "mtxv", "vxv").
    pub fn name(self) -> &'static str {
        match self {
            OpClass::Mxv => "mxv",
            OpClass::Mtxv => "mtxv",
            OpClass::Vxv => "vxv",
        }
    }
}

/// One instruction of the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Instruction {
    /// Fetch the descriptor of step `step` (the addresses and lengths of its index lists).
    Descriptor {
        /// Time step.
        step: usize,
    },
    /// A matrix instruction over columns of W = [W_x, W_h] (combined index space, input first).
    Matrix {
        /// Which op.
        class: OpClass,
        /// Dense (every column, no index list) or sparse (the fired columns listed).
        dense: bool,
        /// The columns visited, ascending.
        columns: Vec<u32>,
    },
}

/// The instruction stream of one layer's training step (forward pass, then backward pass in
/// reverse time), with the layer's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    /// Weight rows: gates x H (4H for LSTM, 3H for GRU).
    pub rows: usize,
    /// Layer input width F.
    pub n_input: usize,
    /// Hidden width H.
    pub n_hidden: usize,
    /// Time steps.
    pub steps: usize,
    /// The instructions in issue order.
    pub instructions: Vec<Instruction>,
}

/// Compiles one layer's trace into a training-step program.
///
/// Shapes: weights rows = `cell.gates() * trace.n_hidden`, columns = `n_input + n_hidden`.
/// Forward pass, t = 0..T: `Descriptor{t}`, `MxV(F_t)`; backward pass, t = T-1..0:
/// `Descriptor{t}`, `MTxV(F_t)`, `VxV(F_t)`, where F_t are the fired columns of step t (every
/// column when `dense`). A sparse step with no fired column issues only its descriptor.
pub fn compile<T: Real>(cell: CellKind, trace: &ActivityTrace<T>, dense: bool) -> Program {
    let columns_of = |t: usize| -> Vec<u32> {
        if dense {
            (0..(trace.n_input + trace.n_hidden) as u32).collect()
        } else {
            trace.combined_step(t).0
        }
    };
    let mut instructions = Vec::new();
    let push_step = |t: usize, classes: &[OpClass], instructions: &mut Vec<Instruction>| {
        instructions.push(Instruction::Descriptor { step: t });
        let columns = columns_of(t);
        if columns.is_empty() {
            return;
        }
        for &class in classes {
            instructions.push(Instruction::Matrix { class, dense, columns: columns.clone() });
        }
    };
    for t in 0..trace.steps() {
        push_step(t, &[OpClass::Mxv], &mut instructions);
    }
    for t in (0..trace.steps()).rev() {
        push_step(t, &[OpClass::Mtxv, OpClass::Vxv], &mut instructions);
    }
    Program {
        rows: cell.gates() * trace.n_hidden,
        n_input: trace.n_input,
        n_hidden: trace.n_hidden,
        steps: trace.steps(),
        instructions,
    }
}

/// A synthetic trace at temporal sparsity `sparsity`: in every step exactly
/// `round((1 - sparsity) * n)` of the `n` input entries fire (and likewise of the hidden
/// entries), chosen uniformly by `rng`, with non-zero deltas.
///
/// Shapes: input (steps x n_input), hidden (steps x n_hidden). `sparsity` is clamped to [0, 1].
pub fn generate_trace(
    n_input: usize,
    n_hidden: usize,
    steps: usize,
    sparsity: f64,
    rng: &mut Rng,
) -> ActivityTrace<f32> {
    let keep = 1.0 - sparsity.clamp(0.0, 1.0);
    let mut trace = ActivityTrace::with_capacity(n_input, n_hidden, steps);
    for _ in 0..steps {
        for (seq, n) in [(&mut trace.input, n_input), (&mut trace.hidden, n_hidden)] {
            let fired = choose_sorted((keep * n as f64).round() as usize, n, rng);
            for &j in &fired {
                seq.indices.push(j);
                let magnitude = 0.1 + rng.uniform() as f32;
                seq.values.push(if rng.uniform() < 0.5 { -magnitude } else { magnitude });
            }
            seq.offsets.push(seq.indices.len() as u32);
        }
    }
    trace
}

/// `k` distinct indices of `0..n`, ascending (partial Fisher-Yates).
fn choose_sorted(k: usize, n: usize, rng: &mut Rng) -> Vec<u32> {
    let mut pool: Vec<u32> = (0..n as u32).collect();
    for i in 0..k.min(n) {
        let j = i + rng.below(n - i);
        pool.swap(i, j);
    }
    pool.truncate(k.min(n));
    pool.sort_unstable();
    pool
}
