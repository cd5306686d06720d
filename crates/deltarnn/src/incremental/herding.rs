//! Herding (Welling 2009; iCaRL, Rebuffi et al. 2017): pick exemplars one at a time so that the
//! running mean of the picked features stays as close as possible to the class mean.

/// Indices of `m` exemplars of one class, in herding order: the k-th pick (k = 1..m) is the
/// unpicked feature that brings the mean of the first k picks closest (Euclidean) to the mean of
/// all features. Ties go to the lowest index. A prefix of the result is the herding choice for a
/// smaller memory, which is how the memory shrinks when new classes arrive.
///
/// With `renormalize` (the authors' `project.py`, `construct_exemplar_sets`), the class mean and
/// every candidate mean are scaled to unit length before the distance is taken.
///
/// Shapes: `features` (n x dim, row-major, already L2-normalised by the caller when wanted).
/// Returns min(m, n) distinct indices.
#[track_caller]
pub fn herding(features: &[f32], dim: usize, m: usize, renormalize: bool) -> Vec<usize> {
    assert!(dim > 0, "feature dimension must be positive");
    assert_eq!(features.len() % dim, 0, "features length is not a multiple of dim");
    let n = features.len() / dim;
    let rows = || features.chunks_exact(dim).map(|r| r.iter().map(|&v| f64::from(v)));
    let mut mean = vec![0.0f64; dim];
    for row in rows() {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
    if renormalize {
        unit_length(&mut mean);
    }
    let mut candidate = vec![0.0f64; dim];
    let mut picked = Vec::with_capacity(m.min(n));
    let mut taken = vec![false; n];
    let mut sum = vec![0.0f64; dim]; // sum of the features picked so far
    while picked.len() < m.min(n) {
        let k = (picked.len() + 1) as f64;
        let mut best: Option<(f64, usize)> = None;
        for (i, row) in rows().enumerate() {
            if taken[i] {
                continue;
            }
            for ((c, s), v) in candidate.iter_mut().zip(&sum).zip(row) {
                *c = (s + v) / k;
            }
            if renormalize {
                unit_length(&mut candidate);
            }
            let distance: f64 = mean.iter().zip(&candidate).map(|(mu, c)| (mu - c).powi(2)).sum();
            if best.is_none_or(|(d, _)| distance < d) {
                best = Some((distance, i));
            }
        }
        let (_, i) = best.expect("an unpicked feature remains");
        taken[i] = true;
        for (s, &v) in sum.iter_mut().zip(&features[i * dim..(i + 1) * dim]) {
            *s += f64::from(v);
        }
        picked.push(i);
    }
    picked
}

/// Scales `v` to unit Euclidean length (a zero vector stays zero).
fn unit_length(v: &mut [f64]) {
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn herding_picks_the_known_optimal_set() {
        // 1-D values with mean 0: the best single exemplar is 0, the best pair-completion keeps
        // the mean at 0 by pairing +1 with -1; outliers come last.
        let values = [5.0f32, 1.0, -5.0, 0.0, -1.0, 0.2];
        // mean = 0.2 / 6 = 0.0333: pick 0 (index 3) first, then 0.2 (running mean 0.1), then -1
        // ((0.2 - 1)/3 = -0.267 vs (0.2 + 1)/3 = 0.4), then 1 (0.2/4 = 0.05).
        assert_eq!(herding(&values, 1, 4, false), vec![3, 5, 4, 1]);
        // The whole set is picked when m >= n, each index once.
        let mut all = herding(&values, 1, 10, false);
        all.sort();
        assert_eq!(all, vec![0, 1, 2, 3, 4, 5]);
        assert!(herding(&values, 1, 0, false).is_empty());
    }

    #[test]
    fn herding_in_two_dimensions_balances_opposite_points() {
        // East, north, west, south and east again: the mean is (0.2, 0). The first pick is an
        // east (nearest, lowest index); the best completion is west, whose pair mean (0, 0) is
        // nearer to (0.2, 0) than north or south ((0.5, 0.5)) or the second east ((1, 0)).
        let features = [1.0f32, 0.0, 0.0, 1.0, -1.0, 0.0, 0.0, -1.0, 1.0, 0.0];
        assert_eq!(herding(&features, 2, 2, false), vec![0, 2]);
        // Third pick: the second east brings the mean to (1/3, 0), nearest to (0.2, 0).
        assert_eq!(herding(&features, 2, 3, false), vec![0, 2, 4]);
    }

    /// The authors' selection as `project.py` writes it: the normalised class mean, then for
    /// each pick every candidate's mean with the picks so far, normalised, and the nearest
    /// unpicked one.
    fn authors_herding(phi: &[Vec<f64>], m: usize) -> Vec<usize> {
        let dim = phi[0].len();
        let normalize = |v: Vec<f64>| {
            let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.into_iter().map(|x| x / n).collect::<Vec<f64>>()
        };
        let mu = normalize((0..dim).map(|d| phi.iter().map(|p| p[d]).sum::<f64>() / phi.len() as f64).collect());
        let mut chosen: Vec<usize> = Vec::new();
        for k in 0..m.min(phi.len()) {
            let sum: Vec<f64> = (0..dim).map(|d| chosen.iter().map(|&i| phi[i][d]).sum()).collect();
            let dist: Vec<f64> = phi
                .iter()
                .map(|p| {
                    let mean = normalize((0..dim).map(|d| (p[d] + sum[d]) / (k + 1) as f64).collect());
                    mean.iter().zip(&mu).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt()
                })
                .collect();
            let mut order: Vec<usize> = (0..phi.len()).collect();
            order.sort_by(|&a, &b| dist[a].total_cmp(&dist[b]).then(a.cmp(&b)));
            chosen.push(order.into_iter().find(|i| !chosen.contains(i)).expect("one left"));
        }
        chosen
    }

    #[test]
    fn renormalised_herding_is_the_authors_selection() {
        let mut rng = crate::rng::Rng::seed(9);
        let mut differs = 0;
        for case in 0..20 {
            let (n, dim) = (12 + case % 5, 3 + case % 4);
            let phi: Vec<Vec<f64>> = (0..n)
                .map(|_| {
                    let v: Vec<f64> = (0..dim).map(|_| rng.normal()).collect();
                    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
                    v.into_iter().map(|x| ((x / norm) as f32) as f64).collect()
                })
                .collect();
            let flat: Vec<f32> = phi.iter().flatten().map(|&x| x as f32).collect();
            assert_eq!(herding(&flat, dim, 8, true), authors_herding(&phi, 8), "case {case}");
            differs += usize::from(herding(&flat, dim, 8, false) != herding(&flat, dim, 8, true));
        }
        assert!(differs > 0, "renormalising must change some selections");
    }
}
