//! What batching the recurrent product across sequences would give dense BPTT: per time step,
//! `B` products W_h h (our dense path: one matrix-vector product per sequence, `dense_forward`)
//! against one matrix-matrix product W_h [h_1 .. h_B] (`gemm`), and the same for W_h^T g
//! (`dense_transposed` against `gemm`). Medians of alternating samples, wall clock, one thread.
//!
//! Usage: cargo run --release --example recurrent_batching -- [hidden] [batch]
//! (default 256 and 8: the wide shape's W_h, 1024 x 256, and half of a batch of 16).

use deltarnn::kernels::gemm::{gemm, Strided, StridedMut};
use deltarnn::kernels::{dense_forward, dense_transposed, ColMajor};
use deltarnn::rng::Rng;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let hidden: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(256);
    let batch: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(8);
    let rows = 4 * hidden;
    let mut rng = Rng::seed(1);
    let mut w = ColMajor::<f32>::zeros(rows, hidden);
    w.data.iter_mut().for_each(|v| *v = rng.uniform_range(-0.1, 0.1) as f32);
    // B hidden vectors (B, H) row-major and B gate gradients (B, 4H) row-major.
    let h: Vec<f32> = (0..batch * hidden).map(|_| rng.uniform_range(-1.0, 1.0) as f32).collect();
    let g: Vec<f32> = (0..batch * rows).map(|_| rng.uniform_range(-1.0, 1.0) as f32).collect();
    let mut memory = vec![0.0f32; batch * rows];
    let mut dh = vec![0.0f32; batch * hidden];
    let calls = (2_000_000 / (rows * hidden * batch)).max(1);
    let (mut per_sequence, mut batched) = (Vec::new(), Vec::new());
    for _ in 0..31 {
        let start = Instant::now();
        for _ in 0..calls {
            for s in 0..batch {
                dense_forward(&mut memory[s * rows..(s + 1) * rows], &w, &h[s * hidden..(s + 1) * hidden]);
                dense_transposed(&mut dh[s * hidden..(s + 1) * hidden], &w, &g[s * rows..(s + 1) * rows]);
            }
        }
        per_sequence.push(start.elapsed().as_secs_f64() / calls as f64);
        let start = Instant::now();
        for _ in 0..calls {
            // memory (B, 4H) += h (B, H) W^T; W is column-major (4H, H), so W^T is row-major (H, 4H).
            gemm(
                batch,
                hidden,
                rows,
                Strided { data: &h, row_stride: hidden, col_stride: 1 },
                Strided { data: &w.data, row_stride: rows, col_stride: 1 },
                1.0,
                StridedMut { data: &mut memory, row_stride: rows, col_stride: 1 },
            );
            // dh (B, H) = g (B, 4H) W.
            gemm(
                batch,
                rows,
                hidden,
                Strided { data: &g, row_stride: rows, col_stride: 1 },
                Strided { data: &w.data, row_stride: 1, col_stride: rows },
                0.0,
                StridedMut { data: &mut dh, row_stride: hidden, col_stride: 1 },
            );
        }
        batched.push(start.elapsed().as_secs_f64() / calls as f64);
    }
    let (a, b) = (median(per_sequence), median(batched));
    println!(
        "W_h {rows} x {hidden}, {batch} sequences, one step forward + backward: per sequence {:.2} us, batched {:.2} us, {:.2}x",
        a * 1e6,
        b * 1e6,
        a / b
    );
}
