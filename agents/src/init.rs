//! Reproducible weight initialisation. burn draws initial weights from the backend's global
//! seed, and only when a parameter is first used, so learners built at the same time on
//! different threads could interleave their draws. `seeded_init` seeds, builds and draws
//! every parameter under one process-wide lock: the same seed gives the same weights.

use std::sync::Mutex;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

/// Forces burn's lazily initialised parameters to draw their values now (in the module's
/// field order).
struct Materialise;

impl<B: Backend> ModuleVisitor<B> for Materialise {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let _ = param.val();
    }
}

/// Held from seeding the backend until every parameter of the new network is drawn.
static INIT_LOCK: Mutex<()> = Mutex::new(());

/// Seeds the backend with `seed` and builds a network with `init` under `INIT_LOCK`,
/// materialising every parameter before the lock is released (otherwise another thread's
/// seeding could interleave with the lazy draws).
pub(crate) fn seeded_init<B: Backend, M: Module<B>>(device: &B::Device, seed: u64, init: impl FnOnce() -> M) -> M {
    let _guard = INIT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    B::seed(device, seed);
    let model = init();
    model.visit(&mut Materialise);
    model
}
