//! Kernel benchmarks: the two matrix kernels at several fired fractions, the gate steps and the
//! delta encoder. `cargo bench -p deltarnn --bench kernels`.

use deltarnn::delta::{encode, SparseSeq};
use deltarnn::kernels::{dense_backward, dense_forward, spmv_backward, spmv_forward, ColMajor};
use deltarnn::nn::{gru, lstm};
use deltarnn::rng::Rng;
use divan::{black_box, Bencher};

fn main() {
    divan::main();
}

const ROWS: usize = 256;
const COLS: usize = 208;

fn fixture(fraction: f64) -> (ColMajor<f32>, Vec<f32>, Vec<u32>, Vec<f32>) {
    let mut rng = Rng::seed(1);
    let mut w = ColMajor::zeros(ROWS, COLS);
    w.data.iter_mut().for_each(|v| *v = rng.uniform_range(-1.0, 1.0) as f32);
    let dense: Vec<f32> = (0..COLS).map(|_| rng.uniform_range(-1.0, 1.0) as f32).collect();
    let active: Vec<u32> = (0..COLS as u32).filter(|_| rng.uniform() < fraction).collect();
    let values = active.iter().map(|&j| dense[j as usize]).collect();
    (w, dense, active, values)
}

#[divan::bench(args = [1.0, 0.5, 0.2, 0.1])]
fn forward_sparse(bencher: Bencher, fraction: f64) {
    let (w, _, active, values) = fixture(fraction);
    let mut acc = vec![0.0f32; ROWS];
    bencher.bench_local(|| spmv_forward(black_box(&mut acc), &w, &active[..], &values));
}

#[divan::bench]
fn forward_dense(bencher: Bencher) {
    let (w, dense, _, _) = fixture(1.0);
    let mut acc = vec![0.0f32; ROWS];
    bencher.bench_local(|| dense_forward(black_box(&mut acc), &w, &dense));
}

#[divan::bench(args = [1.0, 0.5, 0.2, 0.1])]
fn backward_sparse(bencher: Bencher, fraction: f64) {
    let (w, _, active, values) = fixture(fraction);
    let mut dw = ColMajor::zeros(ROWS, COLS);
    let g = vec![0.01f32; ROWS];
    let mut e = vec![0.0f32; active.len()];
    bencher.bench_local(|| spmv_backward(black_box(&mut e), &mut dw, &w, &g, &active[..], &values));
}

#[divan::bench]
fn backward_dense(bencher: Bencher) {
    let (w, dense, _, _) = fixture(1.0);
    let mut dw = ColMajor::zeros(ROWS, COLS);
    let g = vec![0.01f32; ROWS];
    let mut e = vec![0.0f32; COLS];
    bencher.bench_local(|| dense_backward(black_box(&mut e), &mut dw, &w, &g, &dense));
}

#[divan::bench(args = [64, 256])]
fn lstm_gates_forward(bencher: Bencher, hidden: usize) {
    let memory: Vec<f32> = (0..4 * hidden).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
    let c_prev = vec![0.3f32; hidden];
    let (mut gates, mut cell, mut h) = (vec![0.0; 4 * hidden], vec![0.0; 2 * hidden], vec![0.0; hidden]);
    bencher.bench_local(|| lstm::lstm_forward_step(black_box(&mut gates), &mut cell, &mut h, &memory, &c_prev));
}

#[divan::bench(args = [64, 256])]
fn gru_gates_forward(bencher: Bencher, hidden: usize) {
    let memory: Vec<f32> = (0..4 * hidden).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
    let h_prev = vec![0.3f32; hidden];
    let (mut gates, mut h) = (vec![0.0; 4 * hidden], vec![0.0; hidden]);
    bencher.bench_local(|| gru::gru_forward_step(black_box(&mut gates), &mut h, &memory, &h_prev));
}

#[divan::bench(args = [0.0, 0.05, 0.3])]
fn encode_208(bencher: Bencher, threshold: f32) {
    let mut rng = Rng::seed(2);
    let v: Vec<f32> = (0..COLS).map(|_| rng.normal() as f32 * 0.1).collect();
    let mut seq = SparseSeq::with_capacity(1, COLS);
    bencher.bench_local(|| {
        seq.clear();
        let mut v_ref = vec![0.0f32; COLS];
        encode(black_box(&mut seq), &v, &mut v_ref, threshold)
    });
}
