//! The training step allocates nothing per time step once its buffers are warm: the number of
//! heap allocations of one sequence's forward + backward does not grow with the sequence length.
//! (Its own binary, because the counting allocator is global to the process.)

use deltarnn::nn::{init_params, CellKind, Mode, ModelConfig, Params, SequenceTape};
use deltarnn::rng::Rng;
use deltarnn::signals::random_walk;
use deltarnn::Thresholds;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn allocations_per_sequence_do_not_grow_with_its_length() {
    for cell in [CellKind::Lstm, CellKind::Gru] {
        let config = ModelConfig {
            cell,
            n_features: 16,
            n_layers: 2,
            n_hidden: 64,
            n_classes: 31,
            thresholds: Thresholds::ZERO,
        };
        let model = init_params::<f32>(&config, 3).expect("valid config");
        let mut rng = Rng::seed(4);
        let mut sequence = |frames: usize| {
            let x: Vec<f32> = random_walk(&mut rng, frames, 16, 0.15);
            let labels: Vec<i64> = (0..frames).map(|t| (t % 31) as i64).collect();
            (x, labels)
        };
        let (short, long) = (sequence(100), sequence(400));
        // Low threshold: most of the input fires (matrix-product form); high: per fired column.
        for mode in [Mode::Dense, Mode::Delta(Thresholds::both(0.01)), Mode::Delta(Thresholds::both(0.2))] {
            let mut grads = Params::zeros(&config);
            let mut tape = SequenceTape::default();
            let mut count = |(x, labels): &(Vec<f32>, Vec<i64>)| {
                let before = ALLOCATIONS.load(Ordering::Relaxed);
                model.loss_and_gradient(&mut grads, &mut tape, x, labels, mode, 1e-3, 1e-5);
                ALLOCATIONS.load(Ordering::Relaxed) - before
            };
            count(&long); // warm-up: the tape grows to the longest sequence
            let (short_count, long_count) = (count(&short), count(&long));
            println!("{cell} {mode:?}: {long_count} allocations per sequence");
            assert_eq!(
                short_count, long_count,
                "{cell} {mode:?}: 100 frames allocate {short_count}, 400 frames {long_count}"
            );
            assert!(long_count <= 64, "{cell} {mode:?}: {long_count} allocations per sequence");
        }
    }
}
