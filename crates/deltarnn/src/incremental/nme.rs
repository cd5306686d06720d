//! Nearest-mean-of-exemplars classification (iCaRL): a class is represented by the mean of its
//! exemplars' L2-normalised features; an utterance goes to the class whose (normalised) mean is
//! nearest to its own normalised feature.

/// Scales `v` to unit Euclidean norm in place (a zero vector stays zero).
pub fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x = (f64::from(*x) / norm) as f32);
    }
}

/// Class means of normalised features, each normalised again.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassMeans {
    /// Feature dimension.
    pub dim: usize,
    /// The class id of each mean.
    pub classes: Vec<usize>,
    /// One mean per class, (classes x dim) row-major, unit norm.
    pub means: Vec<f32>,
}

impl ClassMeans {
    /// Means of `features` grouped by `classes` (one class id per feature row). Classes appear
    /// in ascending id order.
    ///
    /// Shapes: `features` (n x dim), `classes` (n).
    #[track_caller]
    pub fn fit(features: &[f32], dim: usize, classes: &[usize]) -> Self {
        assert_eq!(features.len(), classes.len() * dim, "features length");
        let mut ids: Vec<usize> = classes.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut sums = vec![0.0f64; ids.len() * dim];
        for (row, class) in features.chunks_exact(dim).zip(classes) {
            let k = ids.binary_search(class).expect("class listed");
            for (s, &v) in sums[k * dim..(k + 1) * dim].iter_mut().zip(row) {
                *s += f64::from(v);
            }
        }
        let mut means: Vec<f32> = sums.iter().map(|&s| s as f32).collect();
        for mean in means.chunks_exact_mut(dim) {
            l2_normalize(mean);
        }
        ClassMeans { dim, classes: ids, means }
    }

    /// The class whose mean is nearest (Euclidean) to `feature` (normalised by the caller). Ties
    /// go to the lower class id. Panics when there is no class (a bug in the caller).
    #[track_caller]
    pub fn classify(&self, feature: &[f32]) -> usize {
        assert_eq!(feature.len(), self.dim, "feature length");
        let mut best = (f64::INFINITY, 0);
        for (mean, &class) in self.means.chunks_exact(self.dim).zip(&self.classes) {
            let d: f64 = mean.iter().zip(feature).map(|(&m, &f)| (f64::from(m) - f64::from(f)).powi(2)).sum();
            if d < best.0 {
                best = (d, class);
            }
        }
        assert!(best.0.is_finite(), "no class means to classify with");
        best.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn nme_separates_separable_toy_data() {
        // Three classes around three directions in 3-D with noise; every point is classified
        // correctly by the means of a few exemplars.
        let mut rng = Rng::seed(3);
        let centres = [[1.0, 0.2, 0.0], [0.0, 1.0, 0.3], [0.2, 0.0, -1.0]];
        let mut point = |c: usize| {
            let mut v: Vec<f32> = centres[c].iter().map(|&x| (x + 0.15 * rng.normal()) as f32).collect();
            l2_normalize(&mut v);
            v
        };
        let (mut features, mut classes) = (Vec::new(), Vec::new());
        for c in 0..3 {
            for _ in 0..4 {
                features.extend(point(c));
                classes.push(c + 1);
            }
        }
        let means = ClassMeans::fit(&features, 3, &classes);
        assert_eq!(means.classes, vec![1, 2, 3]);
        for m in means.means.chunks_exact(3) {
            let norm: f32 = m.iter().map(|v| v * v).sum();
            assert!((norm - 1.0).abs() < 1e-5);
        }
        for c in 0..3 {
            for _ in 0..50 {
                assert_eq!(means.classify(&point(c)), c + 1);
            }
        }
    }
}
