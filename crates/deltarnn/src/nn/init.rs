//! Initialisation as in the authors' code (spec section 4): Xavier-uniform per gate block for the
//! first layer's input weights, orthogonal per gate block for every other recurrent weight,
//! biases zero. The head is Xavier-uniform with a zero bias (our choice; the spec is silent).

use super::{CellKind, Model, ModelConfig, Params};
use crate::kernels::{ColMajor, Real};
use crate::rng::Rng;
use crate::Result;

/// Draws every parameter of `config` from one generator seeded with `seed`.
///
/// Blocks are drawn in PyTorch's gate order (LSTM i, f, g, o; GRU r, z, n), layer by layer,
/// input weights before hidden weights, then the head, so a seed fixes every value.
pub fn init_params<T: Real>(config: &ModelConfig, seed: u64) -> Result<Model<T>> {
    config.validate()?;
    let mut rng = Rng::seed(seed);
    let mut params = Params::<T>::zeros(config);
    let h = config.n_hidden;
    for (k, layer) in params.layers.iter_mut().enumerate() {
        let f = layer.n_input;
        for gate in 0..config.cell.gates() {
            let block = if k == 0 { xavier_uniform(&mut rng, h, f) } else { orthogonal(&mut rng, h, f) };
            write_block(&mut layer.w_x, config.cell, true, gate, &block);
        }
        for gate in 0..config.cell.gates() {
            let block = orthogonal(&mut rng, h, h);
            write_block(&mut layer.w_h, config.cell, false, gate, &block);
        }
    }
    let head = xavier_uniform(&mut rng, config.n_classes, h);
    params.head.w =
        ColMajor::from_row_major(config.n_classes, h, &head.iter().map(|&v| T::from_f64(v)).collect::<Vec<_>>());
    Ok(Model { config: *config, params })
}

/// Row block (within our internal row order) that holds PyTorch gate `gate` of a weight.
/// LSTM keeps PyTorch's order; GRU input weights are stored n, r, z (see `nn::gru`).
pub fn internal_gate(cell: CellKind, input_side: bool, gate: usize) -> usize {
    match (cell, input_side) {
        (CellKind::Gru, true) => [1, 2, 0][gate],
        _ => gate,
    }
}

/// Writes a row-major (H, cols) block into gate `gate` (PyTorch order) of `w`.
fn write_block<T: Real>(w: &mut ColMajor<T>, cell: CellKind, input_side: bool, gate: usize, block: &[f64]) {
    let h = w.rows / cell.gates();
    let first = internal_gate(cell, input_side, gate) * h;
    for r in 0..h {
        for c in 0..w.cols {
            w.data[c * w.rows + first + r] = T::from_f64(block[r * w.cols + c]);
        }
    }
}

/// Row-major (rows, cols) block, uniform in +-sqrt(6 / (rows + cols)).
fn xavier_uniform(rng: &mut Rng, rows: usize, cols: usize) -> Vec<f64> {
    let bound = (6.0 / (rows + cols) as f64).sqrt();
    (0..rows * cols).map(|_| rng.uniform_range(-bound, bound)).collect()
}

/// Row-major (rows, cols) block with orthonormal rows (rows <= cols) or orthonormal columns
/// (rows > cols): Gram-Schmidt on a Gaussian matrix, as torch.nn.init.orthogonal_ does with QR.
fn orthogonal(rng: &mut Rng, rows: usize, cols: usize) -> Vec<f64> {
    let (n, len) = if rows <= cols { (rows, cols) } else { (cols, rows) };
    let mut vecs: Vec<Vec<f64>> = Vec::with_capacity(n);
    while vecs.len() < n {
        let mut v: Vec<f64> = (0..len).map(|_| rng.normal()).collect();
        for _ in 0..2 {
            // Two passes of modified Gram-Schmidt keep the result orthogonal to round-off.
            for u in &vecs {
                let dot: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
                for (a, b) in v.iter_mut().zip(u) {
                    *a -= dot * b;
                }
            }
        }
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm > 1e-6 {
            v.iter_mut().for_each(|a| *a /= norm);
            vecs.push(v);
        }
    }
    let mut out = vec![0.0; rows * cols];
    for (i, v) in vecs.iter().enumerate() {
        for (j, &a) in v.iter().enumerate() {
            if rows <= cols {
                out[i * cols + j] = a;
            } else {
                out[j * cols + i] = a;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Thresholds;

    #[test]
    fn orthogonal_blocks_are_orthonormal() {
        let mut rng = Rng::seed(1);
        for (rows, cols) in [(8, 8), (4, 9), (9, 4)] {
            let m = orthogonal(&mut rng, rows, cols);
            let n = rows.min(cols);
            for a in 0..n {
                for b in 0..n {
                    let dot: f64 = if rows <= cols {
                        (0..cols).map(|j| m[a * cols + j] * m[b * cols + j]).sum()
                    } else {
                        (0..rows).map(|i| m[i * cols + a] * m[i * cols + b]).sum()
                    };
                    let want = if a == b { 1.0 } else { 0.0 };
                    assert!((dot - want).abs() < 1e-10, "({rows},{cols}) {a},{b}: {dot}");
                }
            }
        }
    }

    #[test]
    fn init_is_seeded_and_sized() {
        let config = ModelConfig {
            cell: CellKind::Lstm,
            n_features: 16,
            n_layers: 2,
            n_hidden: 64,
            n_classes: 31,
            thresholds: Thresholds::both(0.1),
        };
        assert_eq!(config.n_params(), 56_287, "the paper's 56k-parameter model");
        let a = init_params::<f32>(&config, 7).unwrap();
        let b = init_params::<f32>(&config, 7).unwrap();
        let c = init_params::<f32>(&config, 8).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.params.layers.iter().all(|l| l.b_x.iter().all(|&v| v == 0.0)));
        let bound = (6.0f32 / 80.0).sqrt();
        assert!(a.params.layers[0].w_x.data.iter().all(|v| v.abs() <= bound));
    }
}
