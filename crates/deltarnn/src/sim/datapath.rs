//! The simulator's datapath: what the PEs compute, cycle by cycle, when a program runs.
//!
//! Row ownership: PE p owns the rows r with r mod P = p (word-interleaved, so in row slot i the
//! P PEs work on rows i P .. i P + P - 1 of the current column, see the bank mapping in
//! [`super::banks`]). MxV and VxV: each PE updates its own rows, columns in ascending order.
//! MTxV: each PE sums the products of its rows into a partial register (ascending rows), then
//! the partials flow through the adder chain PE 0 -> PE 1 -> ... -> PE P-1 (`s = p_0`, then
//! `s = s + p_k` for k = 1..P), and the chain's output is rounded to a word. The number formats
//! and their rounding are in [`super::numeric`]; [`super::bitmodel`] is the plain scalar model
//! of the same arithmetic, which must give the same bits.

use super::numeric::{Arith, Bf16Arith, Encoding, FixedArith, Format, Quantized};
use super::program::{Instruction, OpClass, Program};

/// Everything one layer's training step feeds the datapath, already quantised.
#[derive(Debug, Clone, PartialEq)]
pub struct StepInputs {
    /// The number format of every tensor.
    pub format: Format,
    /// Weight rows (gates x H).
    pub rows: usize,
    /// Weight columns (F + H).
    pub cols: usize,
    /// W = [W_x, W_h], column-major (rows x cols words).
    pub weights: Quantized,
    /// Per step, the fired columns (combined index space, ascending).
    pub columns: Vec<Vec<u32>>,
    /// Per step, the delta of each fired column (words of `delta_encoding`).
    pub deltas: Vec<Vec<u16>>,
    /// Encoding of every delta word.
    pub delta_encoding: Encoding,
    /// G_t per step (steps x rows words).
    pub grads: Quantized,
    /// Encoding of the M_t words written out by MxV.
    pub memory_encoding: Encoding,
    /// Encoding of the e words produced by MTxV.
    pub e_encoding: Encoding,
    /// Encoding of the dW words VxV reads and writes.
    pub dw_encoding: Encoding,
}

/// What the datapath produces over one training step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepOutputs {
    /// M_t after each step's MxV (steps x rows words); M_0 = 0 (the bias is the elementwise
    /// unit's job).
    pub memory: Vec<u16>,
    /// Per step, e_j = W[:, j] . G_t for each fired column j (words).
    pub e: Vec<Vec<u16>>,
    /// dW accumulated over the steps (rows x cols words, column-major), starting from zero.
    pub dw: Vec<u16>,
}

/// Runs the value side of `program` (a sparse program compiled from the same trace as
/// `inputs`) through the datapath. Descriptors select the step whose values the next
/// instructions use.
///
/// Shapes: `inputs.weights` (rows x cols), `inputs.grads` (steps x rows), per step
/// `inputs.columns[t]` and `inputs.deltas[t]` of equal length.
#[track_caller]
pub fn execute(pes: usize, program: &Program, inputs: &StepInputs) -> StepOutputs {
    match inputs.format {
        Format::Bf16 => execute_with(pes, program, inputs, &Bf16Arith, &Bf16Arith, &Bf16Arith),
        Format::Fxp16 => execute_with(
            pes,
            program,
            inputs,
            &FixedArith::new(inputs.weights.encoding, inputs.delta_encoding),
            &FixedArith::new(inputs.weights.encoding, inputs.grads.encoding),
            &FixedArith::new(inputs.grads.encoding, inputs.delta_encoding),
        ),
    }
}

#[track_caller]
fn execute_with<A: Arith, B: Arith, C: Arith>(
    pes: usize,
    program: &Program,
    inputs: &StepInputs,
    forward: &A,
    transposed: &B,
    outer: &C,
) -> StepOutputs {
    let (rows, cols) = (inputs.rows, inputs.cols);
    assert_eq!(program.rows, rows, "program rows");
    assert_eq!(inputs.weights.words.len(), rows * cols, "weights length");
    let steps = inputs.columns.len();
    assert_eq!(inputs.grads.words.len(), steps * rows, "grads length");
    let mut acc = vec![forward.zero(); rows];
    let mut out = StepOutputs { memory: vec![0; steps * rows], e: vec![Vec::new(); steps], dw: vec![0; rows * cols] };
    let mut step = 0;
    for instruction in &program.instructions {
        let (class, columns) = match instruction {
            Instruction::Descriptor { step: t } => {
                step = *t;
                continue;
            }
            Instruction::Matrix { class, columns, .. } => (*class, columns),
        };
        assert_eq!(columns, &inputs.columns[step], "program and inputs disagree at step {step}");
        let deltas = &inputs.deltas[step];
        let g = &inputs.grads.words[step * rows..(step + 1) * rows];
        match class {
            OpClass::Mxv => {
                mxv(forward, pes, &mut acc, &inputs.weights.words, rows, columns, deltas);
                for (m, &a) in out.memory[step * rows..(step + 1) * rows].iter_mut().zip(&acc) {
                    *m = forward.narrow(a, inputs.memory_encoding);
                }
            }
            OpClass::Mtxv => {
                out.e[step] = vec![0; columns.len()];
                mtxv(transposed, pes, &mut out.e[step], &inputs.weights.words, rows, columns, g, inputs.e_encoding);
            }
            OpClass::Vxv => vxv(outer, pes, &mut out.dw, rows, columns, deltas, g, inputs.dw_encoding),
        }
    }
    out
}

/// MxV: `acc[r] += W[r, j] * values[k]` for every listed column `j = columns[k]`, in order; in
/// each cycle PE p updates row i P + p of the column.
///
/// Shapes: `w` (rows x cols words, column-major), `columns` and `values` (n), `acc` (rows).
/// Paper: M_t = M_{t-1} + W delta_t over the fired set (spec section 2).
#[track_caller]
pub fn mxv<A: Arith>(
    arith: &A,
    pes: usize,
    acc: &mut [A::Acc],
    w: &[u16],
    rows: usize,
    columns: &[u32],
    values: &[u16],
) {
    assert_eq!(acc.len(), rows, "acc length");
    assert_eq!(columns.len(), values.len(), "values length");
    for (&j, &x) in columns.iter().zip(values) {
        let column = &w[j as usize * rows..(j as usize + 1) * rows];
        for slot in 0..rows.div_ceil(pes) {
            for pe in 0..pes {
                let r = slot * pes + pe;
                if r < rows {
                    acc[r] = arith.add(acc[r], arith.mul(column[r], x));
                }
            }
        }
    }
}

/// MTxV: `e[k] = W[:, j] . g` for every listed column `j = columns[k]`: per-PE partial sums over
/// the PE's rows (ascending), then the adder chain across PEs in order, rounded to `encoding`.
///
/// Shapes: `w` (rows x cols words), `g` (rows), `columns` and `e` (n).
/// Paper: e_j = W[:, j] . G_t (spec section 3).
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn mtxv<A: Arith>(
    arith: &A,
    pes: usize,
    e: &mut [u16],
    w: &[u16],
    rows: usize,
    columns: &[u32],
    g: &[u16],
    encoding: Encoding,
) {
    assert_eq!(g.len(), rows, "g length");
    assert_eq!(e.len(), columns.len(), "e length");
    let mut partial = vec![arith.zero(); pes];
    for (&j, out) in columns.iter().zip(e.iter_mut()) {
        let column = &w[j as usize * rows..(j as usize + 1) * rows];
        partial.iter_mut().for_each(|p| *p = arith.zero());
        for slot in 0..rows.div_ceil(pes) {
            for (pe, p) in partial.iter_mut().enumerate() {
                let r = slot * pes + pe;
                if r < rows {
                    *p = arith.add(*p, arith.mul(column[r], g[r]));
                }
            }
        }
        // The adder chain: PE k adds its partial to what arrives from PE k - 1.
        let mut chain = partial[0];
        for &p in &partial[1..] {
            chain = arith.add(chain, p);
        }
        *out = arith.narrow(chain, encoding);
    }
}

/// VxV: `dW[r, j] = round(dW[r, j] + g[r] * values[k])` for every listed column `j = columns[k]`;
/// PE p reads, updates and writes back its rows.
///
/// Shapes: `dw` (rows x cols words), `g` (rows), `columns` and `values` (n).
/// Paper: `dW[:, j] += G_t delta_t[j]` (spec section 3).
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn vxv<A: Arith>(
    arith: &A,
    pes: usize,
    dw: &mut [u16],
    rows: usize,
    columns: &[u32],
    values: &[u16],
    g: &[u16],
    encoding: Encoding,
) {
    assert_eq!(g.len(), rows, "g length");
    assert_eq!(columns.len(), values.len(), "values length");
    for (&j, &x) in columns.iter().zip(values) {
        let column = &mut dw[j as usize * rows..(j as usize + 1) * rows];
        for slot in 0..rows.div_ceil(pes) {
            for pe in 0..pes {
                let r = slot * pes + pe;
                if r < rows {
                    let sum = arith.add(arith.widen(column[r], encoding), arith.mul(g[r], x));
                    column[r] = arith.narrow(sum, encoding);
                }
            }
        }
    }
}
