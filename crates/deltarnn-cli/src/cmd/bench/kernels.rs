//! The `kernels` section: the two matrix kernels on one shape's hidden matrix W_h (4H x H), over
//! a random fired subset of its columns against all of them.

use super::{alternate, Output, Shape};
use deltarnn::kernels::{dense_backward, dense_forward, spmv_backward, spmv_forward, ColMajor};
use deltarnn::rng::Rng;

/// Calls per timed sample, so one sample lasts long enough for the clock.
const CALLS: usize = 200;

pub fn run(out: &Output, shapes: &[Shape], fired: &[f64], repeats: usize, seed: u64) {
    out.header(
        &format!("kernels on W_h (4H x H), f32, 1 thread, {CALLS} calls per sample, median of {repeats} alternating samples (thread CPU time)"),
        &format!("{:<6} {:>10} {:>7} {:>8} {:>11} {:>11} {:>8} {:>7}", "shape", "kernel", "fired", "columns", "sparse us", "dense us", "speedup", "ideal"),
    );
    for &(name, _, _, hidden, _, _) in shapes {
        let (rows, cols) = (4 * hidden, hidden);
        let mut rng = Rng::seed(seed);
        let mut w = ColMajor::<f32>::zeros(rows, cols);
        w.data.iter_mut().for_each(|v| *v = rng.uniform_range(-0.1, 0.1) as f32);
        let mut dw = ColMajor::<f32>::zeros(rows, cols);
        let g: Vec<f32> = (0..rows).map(|_| rng.uniform_range(-1.0, 1.0) as f32).collect();
        let dense_values: Vec<f32> = (0..cols).map(|_| rng.uniform_range(-1.0, 1.0) as f32).collect();
        for &fraction in fired {
            let count = ((fraction * cols as f64).round() as usize).clamp(1, cols);
            let mut all: Vec<u32> = (0..cols as u32).collect();
            rng.shuffle(&mut all);
            let mut columns = all[..count].to_vec();
            columns.sort_unstable();
            let values: Vec<f32> = columns.iter().map(|&j| dense_values[j as usize]).collect();
            let (mut acc, mut e) = (vec![0.0f32; rows], vec![0.0f32; cols]);
            for kernel in ["forward", "backward"] {
                let (sparse, dense) = if kernel == "forward" {
                    let acc_cell = std::cell::RefCell::new(&mut acc);
                    alternate(
                        3,
                        repeats,
                        || (0..CALLS).for_each(|_| spmv_forward(&mut acc_cell.borrow_mut(), &w, &columns[..], &values)),
                        || (0..CALLS).for_each(|_| dense_forward(&mut acc_cell.borrow_mut(), &w, &dense_values)),
                    )
                } else {
                    let state = std::cell::RefCell::new((&mut e, &mut dw));
                    alternate(
                        3,
                        repeats,
                        || {
                            let (e, dw) = &mut *state.borrow_mut();
                            (0..CALLS).for_each(|_| spmv_backward(&mut e[..count], dw, &w, &g, &columns[..], &values))
                        },
                        || {
                            let (e, dw) = &mut *state.borrow_mut();
                            (0..CALLS).for_each(|_| dense_backward(e, dw, &w, &g, &dense_values))
                        },
                    )
                };
                let (sparse_us, dense_us) = (sparse * 1e6 / CALLS as f64, dense * 1e6 / CALLS as f64);
                let actual = count as f64 / cols as f64;
                out.case(
                    format!(
                        "{name:<6} {kernel:>10} {:>6.1}% {count:>8} {sparse_us:>11.3} {dense_us:>11.3} {:>7.2}x {:>6.2}x",
                        actual * 100.0,
                        dense_us / sparse_us,
                        1.0 / actual
                    ),
                    serde_json::json!({
                        "bench": "kernel", "shape": name, "kernel": kernel, "rows": rows, "cols": cols,
                        "fired_fraction": actual, "sparse_us": sparse_us, "dense_us": dense_us,
                        "speedup": dense_us / sparse_us, "ideal": 1.0 / actual, "repeats": repeats,
                        "clock": "thread_cpu",
                    }),
                );
            }
        }
    }
}
