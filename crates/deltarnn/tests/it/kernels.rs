//! Fast kernels against their scalar twins and the slow references, over awkward sizes.

use deltarnn::kernels::{
    self, reference, spmv_backward, spmv_backward_portable, spmv_forward, spmv_forward_portable, AllColumns, ColMajor,
};
use deltarnn::nn::loss::{frame_cross_entropy, frame_cross_entropy_portable};
use deltarnn::nn::{gru, lstm};
use deltarnn::rng::Rng;

const ROWS: [usize; 10] = [0, 1, 7, 8, 9, 15, 16, 17, 31, 257];
const COLS: [usize; 8] = [0, 1, 3, 4, 5, 8, 9, 33];

fn random_case(
    rng: &mut Rng,
    rows: usize,
    cols: usize,
    fraction: f64,
) -> (ColMajor<f32>, Vec<f32>, Vec<u32>, Vec<f32>) {
    let mut w = ColMajor::zeros(rows, cols);
    w.data.iter_mut().for_each(|v| *v = rng.uniform_range(-1.0, 1.0) as f32);
    let mut dense = vec![0.0f32; cols];
    let mut active = Vec::new();
    let mut values = Vec::new();
    for (c, d) in dense.iter_mut().enumerate() {
        if rng.uniform() < fraction {
            *d = rng.uniform_range(-1.0, 1.0) as f32;
            active.push(c as u32);
            values.push(*d);
        }
    }
    (w, dense, active, values)
}

#[test]
fn forward_fast_equals_twin_and_reference_bit_for_bit() {
    let mut rng = Rng::seed(7);
    for rows in ROWS {
        for cols in COLS {
            for fraction in [1.0, 0.5, 0.1] {
                let (w, dense, active, values) = random_case(&mut rng, rows, cols, fraction);
                let start: Vec<f32> = (0..rows).map(|r| r as f32 * 0.25 - 1.0).collect();
                let mut fast = start.clone();
                let mut twin = start.clone();
                let mut slow = start.clone();
                spmv_forward(&mut fast, &w, &active[..], &values);
                spmv_forward_portable(&mut twin, &w, &active[..], &values);
                reference::matvec_acc(&mut slow, &w, &dense);
                assert_eq!(fast, twin, "rows={rows} cols={cols} fraction={fraction}");
                // Ascending columns per row on both sides, so the sums are identical.
                assert_eq!(fast, slow, "rows={rows} cols={cols} fraction={fraction}");
                let mut full = start.clone();
                kernels::dense_forward(&mut full, &w, &dense);
                assert_eq!(full, slow, "dense rows={rows} cols={cols}");
            }
        }
    }
}

#[test]
fn backward_fast_equals_twin_bit_for_bit_and_reference_to_round_off() {
    let mut rng = Rng::seed(8);
    for rows in ROWS {
        for cols in COLS {
            for fraction in [1.0, 0.5, 0.1] {
                let (w, dense, active, values) = random_case(&mut rng, rows, cols, fraction);
                let g: Vec<f32> = (0..rows).map(|_| rng.uniform_range(-1.0, 1.0) as f32).collect();
                let mut dw_start = ColMajor::zeros(rows, cols);
                dw_start.data.iter_mut().for_each(|v| *v = rng.uniform_range(-1.0, 1.0) as f32);

                let (mut e_fast, mut dw_fast) = (vec![0.0; active.len()], dw_start.clone());
                let (mut e_twin, mut dw_twin) = (vec![0.0; active.len()], dw_start.clone());
                spmv_backward(&mut e_fast, &mut dw_fast, &w, &g, &active[..], &values);
                spmv_backward_portable(&mut e_twin, &mut dw_twin, &w, &g, &active[..], &values);
                assert_eq!(e_fast, e_twin, "rows={rows} cols={cols}");
                assert_eq!(dw_fast, dw_twin, "rows={rows} cols={cols}");

                let mut dw_slow = dw_start.clone();
                reference::outer_acc(&mut dw_slow, &g, &dense);
                assert_eq!(dw_fast, dw_slow, "outer product rows={rows} cols={cols}");

                let mut e_slow = vec![0.0; cols];
                reference::matvec_transposed(&mut e_slow, &w, &g);
                for (k, &j) in active.iter().enumerate() {
                    let j = j as usize;
                    // Lane-wise versus sequential summation: bounded by rows * eps * sum |w g|.
                    let magnitude: f32 = (0..rows).map(|r| (w.get(r, j) * g[r]).abs()).sum();
                    let tolerance = rows as f32 * f32::EPSILON * magnitude + 1e-30;
                    assert!(
                        (e_fast[k] - e_slow[j]).abs() <= tolerance,
                        "e[{j}] rows={rows}: {} vs {}",
                        e_fast[k],
                        e_slow[j]
                    );
                }

                // Dense backward over all columns equals the sparse one on the fired columns.
                let (mut e_all, mut dw_all) = (vec![0.0; cols], dw_start.clone());
                kernels::dense_backward(&mut e_all, &mut dw_all, &w, &g, &dense);
                for (k, &j) in active.iter().enumerate() {
                    assert_eq!(e_all[j as usize], e_fast[k]);
                }
                assert_eq!(dw_all, dw_fast);

                // The dot-only kernel of dense BPTT gives the fused kernel's e exactly.
                let (mut e_dot, mut e_dot_twin) = (vec![0.0; cols], vec![0.0; cols]);
                kernels::dense_transposed(&mut e_dot, &w, &g);
                kernels::dense_transposed_portable(&mut e_dot_twin, &w, &g);
                assert_eq!(e_dot, e_all, "dense_transposed rows={rows} cols={cols}");
                assert_eq!(e_dot, e_dot_twin, "dense_transposed twin rows={rows} cols={cols}");
                let (mut e_listed, mut e_listed_twin) = (vec![0.0; active.len()], vec![0.0; active.len()]);
                kernels::spmv_transposed(&mut e_listed, &w, &g, &active[..]);
                kernels::spmv_transposed_portable(&mut e_listed_twin, &w, &g, &active[..]);
                assert_eq!(e_listed, e_fast, "spmv_transposed rows={rows} cols={cols}");
                assert_eq!(e_listed, e_listed_twin, "spmv_transposed twin rows={rows} cols={cols}");
            }
        }
    }
}

#[test]
fn all_columns_equals_explicit_index_list() {
    let mut rng = Rng::seed(9);
    let (w, dense, _, _) = random_case(&mut rng, 37, 11, 1.0);
    let all: Vec<u32> = (0..11).collect();
    let (mut a, mut b) = (vec![0.5f32; 37], vec![0.5f32; 37]);
    spmv_forward(&mut a, &w, AllColumns(11), &dense);
    spmv_forward(&mut b, &w, &all[..], &dense);
    assert_eq!(a, b);
}

#[test]
fn gate_steps_fast_equal_twins_bit_for_bit() {
    let mut rng = Rng::seed(10);
    for h in [1, 7, 8, 9, 15, 16, 17, 31, 33, 64] {
        let r =
            |rng: &mut Rng, n: usize, s: f64| -> Vec<f32> { (0..n).map(|_| rng.uniform_range(-s, s) as f32).collect() };
        let memory = r(&mut rng, 4 * h, 6.0);
        let prev = r(&mut rng, h, 1.0);
        let (mut g1, mut c1, mut h1) = (vec![0.0; 4 * h], vec![0.0; 2 * h], vec![0.0; h]);
        let (mut g2, mut c2, mut h2) = (g1.clone(), c1.clone(), h1.clone());
        lstm::lstm_forward_step(&mut g1, &mut c1, &mut h1, &memory, &prev);
        lstm::lstm_forward_step_portable(&mut g2, &mut c2, &mut h2, &memory, &prev);
        assert_eq!((&g1, &c1, &h1), (&g2, &c2, &h2), "lstm forward h={h}");
        let dh = r(&mut rng, h, 1.0);
        let carry = r(&mut rng, h, 1.0);
        let (mut d1, mut k1) = (vec![0.0; 4 * h], carry.clone());
        let (mut d2, mut k2) = (vec![0.0; 4 * h], carry.clone());
        lstm::lstm_backward_step(&mut d1, &mut k1, &dh, &g1, &c1, &prev);
        lstm::lstm_backward_step_portable(&mut d2, &mut k2, &dh, &g1, &c1, &prev);
        assert_eq!((&d1, &k1), (&d2, &k2), "lstm backward h={h}");

        let (mut g1, mut h1) = (vec![0.0; 4 * h], vec![0.0; h]);
        let (mut g2, mut h2) = (g1.clone(), h1.clone());
        gru::gru_forward_step(&mut g1, &mut h1, &memory, &prev);
        gru::gru_forward_step_portable(&mut g2, &mut h2, &memory, &prev);
        assert_eq!((&g1, &h1), (&g2, &h2), "gru forward h={h}");
        let (mut d1, mut k1) = (vec![0.0; 4 * h], carry.clone());
        let (mut d2, mut k2) = (vec![0.0; 4 * h], carry.clone());
        gru::gru_backward_step(&mut d1, &mut k1, &dh, &g1, &prev);
        gru::gru_backward_step_portable(&mut d2, &mut k2, &dh, &g1, &prev);
        assert_eq!((&d1, &k1), (&d2, &k2), "gru backward h={h}");
    }
}

#[test]
fn cross_entropy_fast_equals_twin_bit_for_bit() {
    let mut rng = Rng::seed(12);
    for classes in [1, 2, 7, 8, 15, 16, 17, 31, 36] {
        for steps in [1, 3, 20] {
            let logits: Vec<f32> = (0..steps * classes).map(|_| rng.uniform_range(-20.0, 20.0) as f32).collect();
            let labels: Vec<i64> =
                (0..steps).map(|t| if t % 5 == 4 { -1 } else { rng.below(classes) as i64 }).collect();
            let (mut fast, mut twin) = (vec![f32::NAN; logits.len()], vec![f32::NAN; logits.len()]);
            let a = frame_cross_entropy(&mut fast, &logits, &labels, classes, 0.25);
            let b = frame_cross_entropy_portable(&mut twin, &logits, &labels, classes, 0.25);
            assert_eq!(a.0.to_bits(), b.0.to_bits(), "loss, {classes} classes, {steps} steps");
            assert_eq!(a.1, b.1);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast), bits(&twin), "dlogits, {classes} classes, {steps} steps");
        }
    }
}

#[test]
fn encoder_fast_equals_twin_bit_for_bit() {
    use deltarnn::delta::{encode_step, encode_step_portable, SparseSeq};
    let mut rng = Rng::seed(13);
    for n in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 130] {
        for threshold in [0.0f32, 0.05, 0.3, 2.0] {
            let mut v_ref: Vec<f32> = (0..n).map(|_| rng.uniform_range(-1.0, 1.0) as f32).collect();
            let mut twin_ref = v_ref.clone();
            let (mut seq, mut twin) = (SparseSeq::<f32>::default(), SparseSeq::<f32>::default());
            for step in 0..4 {
                let mut v: Vec<f32> = (0..n).map(|_| rng.uniform_range(-1.0, 1.0) as f32).collect();
                if step == 2 && n > 3 {
                    (v[0], v[1], v[2]) = (f32::NAN, -0.0, v_ref[2] + threshold);
                    // NaN never fires; exactly theta does
                }
                encode_step(&mut seq, &v, &mut v_ref, threshold);
                encode_step_portable(&mut twin, &v, &mut twin_ref, threshold);
            }
            assert_eq!(seq, twin, "n {n}, threshold {threshold}");
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&v_ref), bits(&twin_ref), "n {n}, threshold {threshold}");
        }
    }
}

/// Set in the child processes of [`every_simd_level_equals_the_twins`].
const CHILD: &str = "DELTARNN_SIMD_LEVEL_CHILD";

/// The tests above compare the dispatched copy (the widest this CPU has) against the baseline
/// compile. This runs them again in child processes with AVX-512 switched off (the AVX2 copy)
/// and with every SIMD copy switched off, so that each copy is checked on a CPU that has it.
#[test]
fn every_simd_level_equals_the_twins() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let exe = std::env::current_exe().expect("test binary path");
    for (variable, level) in [("DELTARNN_NO_AVX512", "AVX2"), ("DELTARNN_NO_SIMD", "baseline")] {
        let out = std::process::Command::new(&exe)
            .args(["kernels::", "--test-threads", "2"])
            .env(CHILD, "1")
            .env(variable, "1")
            .output()
            .expect("run the test binary");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{level} copy: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("test result: ok"), "{level} copy ran no tests: {stdout}");
    }
}

#[test]
fn all_finite_finds_every_non_finite_value_at_every_position() {
    for len in [0usize, 1, 7, 8, 9, 17, 64, 65] {
        let values: Vec<f32> = (0..len).map(|i| (i as f32 - 3.0) * 1e30).collect();
        assert!(kernels::all_finite(&values), "len {len}");
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for at in 0..len {
                let mut v = values.clone();
                v[at] = bad;
                assert!(!kernels::all_finite(&v), "{bad} at {at} of {len}");
                let as_f64: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
                assert!(!kernels::all_finite(&as_f64), "f64: {bad} at {at} of {len}");
            }
        }
    }
    // Large finite values whose difference would overflow in a sum still count as finite.
    assert!(kernels::all_finite(&[f32::MAX; 20]));
    assert!(kernels::all_finite(&[f32::MIN_POSITIVE, -0.0, 0.0]));
}
