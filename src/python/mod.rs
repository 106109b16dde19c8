//! The PyO3 layer: thin wrappers that turn Python calls into scheduler tasks.

mod bridge;
mod broken;
mod call;
mod context;
mod core;
mod exit;
mod fast_future;
mod fork;
mod future_condition;
mod guarded_call;
mod jobs;
mod names;
mod places;
mod pools;
#[cfg(feature = "test-helpers")]
mod test_helpers;
mod tracker;
mod wait;
mod worker_main;
mod worker_thread;

use pyo3::prelude::*;

#[pymodule(gil_used = false)]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    names::init(module.py())?;
    fast_future::init(module.py())?;
    module.add_class::<core::Core>()?;
    module.add_class::<future_condition::FutureCondition>()?;
    module.add_class::<bridge::Bridge>()?;
    module.add_class::<tracker::Tracker>()?;
    module.add_class::<places::Places>()?;
    module.add_class::<places::PlacedCall>()?;
    module.add_class::<worker_thread::PyWorkerHandle>()?;
    module.add_function(wrap_pyfunction!(fork::after_fork_in_child, module)?)?;
    module.add_function(wrap_pyfunction!(exit::shut_down_at_exit, module)?)?;
    module.add_function(wrap_pyfunction!(
        fast_future::use_stdlib_future_methods,
        module
    )?)?;
    #[cfg(feature = "test-helpers")]
    test_helpers::register(module)?;
    module.add(
        "PanicException",
        module.py().get_type::<pyo3::panic::PanicException>(),
    )?;
    Ok(())
}
