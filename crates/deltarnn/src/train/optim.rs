//! AdamW, the learning-rate schedule (warm-up, reduce on plateau) and gradient clipping.

use crate::nn::{ModelConfig, Params, PARALLEL_BLOCK};
use rayon::prelude::*;

/// AdamW (Loshchilov and Hutter): Adam moments plus decoupled weight decay, as torch.optim.AdamW.
#[derive(Debug, Clone, PartialEq)]
pub struct AdamW {
    /// First-moment decay (0.9).
    pub beta1: f64,
    /// Second-moment decay (0.999).
    pub beta2: f64,
    /// Denominator guard (1e-8).
    pub eps: f64,
    /// Decoupled weight decay (0.01 in the authors' runs).
    pub weight_decay: f64,
    /// Updates taken so far (for bias correction).
    pub steps: u64,
    /// First moments, shaped like the parameters.
    pub m: Params<f32>,
    /// Second moments, shaped like the parameters.
    pub v: Params<f32>,
}

impl AdamW {
    /// Fresh moments for a model of `config`.
    pub fn new(config: &ModelConfig, weight_decay: f64) -> Self {
        AdamW {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
            steps: 0,
            m: Params::zeros(config),
            v: Params::zeros(config),
        }
    }

    /// One update of `params` with gradient `grads` at learning rate `lr`.
    pub fn update(&mut self, params: &mut Params<f32>, grads: &Params<f32>, lr: f64) {
        self.steps += 1;
        let (b1, b2) = (self.beta1 as f32, self.beta2 as f32);
        let c1 = 1.0 - self.beta1.powi(self.steps as i32);
        let c2 = 1.0 - self.beta2.powi(self.steps as i32);
        let step = (lr / c1) as f32;
        let c2_sqrt = c2.sqrt() as f32;
        let (eps, decay) = (self.eps as f32, (1.0 - lr * self.weight_decay) as f32);
        // Element-wise, so blocks run in parallel (on the current rayon pool) with the same bits.
        for (((p, g), m), v) in
            params.slices_mut().into_iter().zip(grads.slices()).zip(self.m.slices_mut()).zip(self.v.slices_mut())
        {
            p.par_chunks_mut(PARALLEL_BLOCK)
                .zip(g.par_chunks(PARALLEL_BLOCK))
                .zip(m.par_chunks_mut(PARALLEL_BLOCK))
                .zip(v.par_chunks_mut(PARALLEL_BLOCK))
                .for_each(|(((p, g), m), v)| {
                    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                        *m = b1 * *m + (1.0 - b1) * g;
                        *v = b2 * *v + (1.0 - b2) * g * g;
                        *p = *p * decay - step * *m / (v.sqrt() / c2_sqrt + eps);
                    }
                });
        }
    }
}

/// Scales `grads` so its Euclidean norm is at most `max_norm`; returns the norm before clipping.
pub fn clip_grad_norm(grads: &mut Params<f32>, max_norm: f64) -> f64 {
    let norm = grads.norm();
    if norm > max_norm && norm.is_finite() {
        let scale = (max_norm / norm) as f32;
        for s in grads.slices_mut() {
            s.iter_mut().for_each(|g| *g *= scale);
        }
    }
    norm
}

/// ReduceLROnPlateau on a metric to minimise (validation loss): after `patience` epochs without
/// improvement the learning rate is multiplied by `factor`, never below `min_lr`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Plateau {
    /// Multiplier on a plateau (0.8).
    pub factor: f64,
    /// Epochs without improvement tolerated (4).
    pub patience: usize,
    /// Floor of the learning rate.
    pub min_lr: f64,
    /// Best metric so far.
    pub best: f64,
    /// Epochs since the best.
    pub bad_epochs: usize,
}

impl Plateau {
    /// A schedule with the authors' factor and patience.
    pub fn new(factor: f64, patience: usize, min_lr: f64) -> Self {
        Plateau { factor, patience, min_lr, best: f64::INFINITY, bad_epochs: 0 }
    }

    /// Records one epoch's metric and returns the (possibly reduced) learning rate.
    pub fn step(&mut self, metric: f64, lr: f64) -> f64 {
        if metric < self.best {
            self.best = metric;
            self.bad_epochs = 0;
            return lr;
        }
        self.bad_epochs += 1;
        if self.bad_epochs > self.patience {
            self.bad_epochs = 0;
            return (lr * self.factor).max(self.min_lr);
        }
        lr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::CellKind;
    use crate::Thresholds;

    fn config() -> ModelConfig {
        ModelConfig {
            cell: CellKind::Gru,
            n_features: 2,
            n_layers: 1,
            n_hidden: 3,
            n_classes: 2,
            thresholds: Thresholds::ZERO,
        }
    }

    #[test]
    fn adamw_first_step_matches_closed_form() {
        // After one step, m/(1-b1) = g and v/(1-b2) = g^2, so p <- p(1 - lr wd) - lr g/(|g| + eps).
        let mut params = Params::<f32>::zeros(&config());
        params.head.b = vec![1.0, -2.0];
        let mut grads = Params::<f32>::zeros(&config());
        grads.head.b = vec![0.5, -0.25];
        let mut opt = AdamW::new(&config(), 0.01);
        opt.update(&mut params, &grads, 0.1);
        let want = [1.0 * (1.0 - 0.001) - 0.1, -2.0 * (1.0 - 0.001) + 0.1];
        for (p, w) in params.head.b.iter().zip(want) {
            assert!((f64::from(*p) - w).abs() < 1e-6, "{p} vs {w}");
        }
    }

    /// A model with tensors longer than [`PARALLEL_BLOCK`], filled with seeded values.
    fn random_params(seed: u64) -> Params<f32> {
        let config = ModelConfig { n_features: 40, n_hidden: 96, n_classes: 31, ..config() };
        let mut params = Params::<f32>::zeros(&config);
        let mut rng = crate::rng::Rng::seed(seed);
        for s in params.slices_mut() {
            s.iter_mut().for_each(|v| *v = rng.uniform_range(-1.0, 1.0) as f32);
        }
        assert!(params.slices().iter().any(|s| s.len() > 2 * PARALLEL_BLOCK));
        params
    }

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool")
    }

    #[test]
    fn parallel_sum_and_update_give_the_sequential_bits_on_any_thread_count() {
        let parts: Vec<Params<f32>> = (0..5).map(random_params).collect();
        let mut sequential = random_params(99);
        sequential.fill_zero();
        for p in &parts {
            sequential.add_assign(p);
        }
        let refs: Vec<&Params<f32>> = parts.iter().collect();
        for threads in [1, 2, 3] {
            let mut sum = random_params(7); // stale contents are overwritten
            pool(threads).install(|| sum.set_sum(&refs));
            assert_eq!(sum, sequential, "{threads} threads");
        }
        let updated: Vec<Params<f32>> = [1, 2, 3]
            .into_iter()
            .map(|threads| {
                let mut params = random_params(11);
                let mut opt =
                    AdamW::new(&ModelConfig { n_features: 40, n_hidden: 96, n_classes: 31, ..config() }, 0.01);
                pool(threads).install(|| {
                    opt.update(&mut params, &sequential, 1e-3);
                    opt.update(&mut params, &parts[0], 1e-3);
                });
                params
            })
            .collect();
        assert_eq!(updated[0], updated[1]);
        assert_eq!(updated[0], updated[2]);
    }

    #[test]
    fn norm_matches_a_plain_f64_sum() {
        let params = random_params(3);
        let plain: f64 = params.slices().iter().flat_map(|s| s.iter()).map(|&v| f64::from(v).powi(2)).sum();
        assert!((params.norm() - plain.sqrt()).abs() <= 1e-12 * plain.sqrt());
    }

    #[test]
    fn clipping_and_plateau() {
        let mut grads = Params::<f32>::zeros(&config());
        grads.head.b = vec![3.0, 4.0];
        assert_eq!(clip_grad_norm(&mut grads, 1.0), 5.0);
        assert!((grads.norm() - 1.0).abs() < 1e-6);

        let mut plateau = Plateau::new(0.8, 2, 0.5);
        let mut lr = 1.0;
        for metric in [1.0, 0.9, 0.95, 0.95, 0.95] {
            lr = plateau.step(metric, lr);
        }
        assert!((lr - 0.8).abs() < 1e-12, "{lr}");
        for _ in 0..20 {
            lr = plateau.step(2.0, lr);
        }
        assert_eq!(lr, 0.5);
    }
}
