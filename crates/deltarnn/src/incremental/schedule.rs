//! The class schedule: which classes arrive in which increment.

use crate::rng::Rng;
use crate::{Error, Result};
use std::ops::Range;

/// A base task of `base` classes, then increments of `step` new classes (the last one may be
/// smaller), in the order `order` (dataset class ids, 1-based; 0 is silence and never listed).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClassSchedule {
    /// Dataset class ids in arrival order.
    pub order: Vec<usize>,
    /// Classes of the base task.
    pub base: usize,
    /// New classes per increment.
    pub step: usize,
}

impl ClassSchedule {
    /// A schedule over the dataset classes `1..=n_classes`: `order` when given (a subset is fine,
    /// no repeats), else every class in an order shuffled by `seed`.
    pub fn new(n_classes: usize, base: usize, step: usize, order: Option<Vec<usize>>, seed: u64) -> Result<Self> {
        let bad = |m: String| Err(Error::Invalid(m));
        let order = match order {
            Some(order) => {
                let mut seen = vec![false; n_classes + 1];
                for &c in &order {
                    if c == 0 || c > n_classes {
                        return bad(format!("class {c} is not one of the dataset's classes 1..={n_classes}"));
                    }
                    if std::mem::replace(&mut seen[c], true) {
                        return bad(format!("class {c} is listed twice"));
                    }
                }
                order
            }
            None => {
                let mut order: Vec<usize> = (1..=n_classes).collect();
                Rng::derive(seed, 0x0C1A_55E5).shuffle(&mut order);
                order
            }
        };
        if base == 0 {
            return bad("the base task needs at least 1 class".into());
        }
        if base > order.len() {
            return bad(format!("base of {base} classes is larger than the {} classes available", order.len()));
        }
        if step == 0 && base < order.len() {
            return bad(format!("step must be at least 1 when {} classes remain after the base", order.len() - base));
        }
        Ok(ClassSchedule { order, base, step })
    }

    /// Positions in `order` of each increment's classes (increment 0 is the base task).
    pub fn increments(&self) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        out.push(0..self.base);
        let mut start = self.base;
        while start < self.order.len() {
            let end = (start + self.step).min(self.order.len());
            out.push(start..end);
            start = end;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_and_their_errors() {
        let s = ClassSchedule::new(35, 20, 3, None, 1).unwrap();
        assert_eq!(s.increments().len(), 6);
        assert_eq!(s.increments()[5], 32..35);
        let mut sorted = s.order.clone();
        sorted.sort();
        assert_eq!(sorted, (1..=35).collect::<Vec<_>>());
        assert_eq!(ClassSchedule::new(35, 20, 3, None, 1).unwrap(), s, "seeded");
        assert_ne!(ClassSchedule::new(35, 20, 3, None, 2).unwrap().order, s.order);
        let listed = ClassSchedule::new(10, 2, 2, Some(vec![3, 1, 7, 5, 9]), 0).unwrap();
        assert_eq!(listed.increments(), vec![0..2, 2..4, 4..5]);
        let err = |r: Result<ClassSchedule>| r.unwrap_err().to_string();
        assert_eq!(
            err(ClassSchedule::new(10, 12, 2, None, 0)),
            "base of 12 classes is larger than the 10 classes available"
        );
        assert_eq!(err(ClassSchedule::new(10, 0, 2, None, 0)), "the base task needs at least 1 class");
        assert_eq!(
            err(ClassSchedule::new(10, 4, 0, None, 0)),
            "step must be at least 1 when 6 classes remain after the base"
        );
        assert_eq!(err(ClassSchedule::new(10, 1, 1, Some(vec![3, 3]), 0)), "class 3 is listed twice");
        assert_eq!(
            err(ClassSchedule::new(10, 1, 1, Some(vec![11]), 0)),
            "class 11 is not one of the dataset's classes 1..=10"
        );
    }
}
