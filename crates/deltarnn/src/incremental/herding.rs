//! Herding (Welling 2009; iCaRL, Rebuffi et al. 2017): pick exemplars one at a time so that the
//! running mean of the picked features stays as close as possible to the class mean.

/// Indices of `m` exemplars of one class, in herding order: the k-th pick (k = 1..m) is the
/// unpicked feature that brings the mean of the first k picks closest (Euclidean) to the mean of
/// all features. Ties go to the lowest index. A prefix of the result is the herding choice for a
/// smaller memory, which is how the memory shrinks when new classes arrive.
///
/// Shapes: `features` (n x dim, row-major, already L2-normalised by the caller when wanted).
/// Returns min(m, n) distinct indices.
#[track_caller]
pub fn herding(features: &[f32], dim: usize, m: usize) -> Vec<usize> {
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
            let distance: f64 = mean.iter().zip(&sum).zip(row).map(|((mu, s), v)| (mu - (s + v) / k).powi(2)).sum();
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
        assert_eq!(herding(&values, 1, 4), vec![3, 5, 4, 1]);
        // The whole set is picked when m >= n, each index once.
        let mut all = herding(&values, 1, 10);
        all.sort();
        assert_eq!(all, vec![0, 1, 2, 3, 4, 5]);
        assert!(herding(&values, 1, 0).is_empty());
    }

    #[test]
    fn herding_in_two_dimensions_balances_opposite_points() {
        // East, north, west, south and east again: the mean is (0.2, 0). The first pick is an
        // east (nearest, lowest index); the best completion is west, whose pair mean (0, 0) is
        // nearer to (0.2, 0) than north or south ((0.5, 0.5)) or the second east ((1, 0)).
        let features = [1.0f32, 0.0, 0.0, 1.0, -1.0, 0.0, 0.0, -1.0, 1.0, 0.0];
        assert_eq!(herding(&features, 2, 2), vec![0, 2]);
        // Third pick: the second east brings the mean to (1/3, 0), nearest to (0.2, 0).
        assert_eq!(herding(&features, 2, 3), vec![0, 2, 4]);
    }
}
