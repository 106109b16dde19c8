//! Fork generations: the one way this crate tells a forked child from its
//! parent.
//!
//! In a child only the forking thread exists: a pool made before the fork
//! has no workers there, and any lock one of them held stays locked. The
//! embedder calls [`after_fork_in_child`] first thing in the child (the
//! Python layer does, through `os.register_at_fork`); anything that recorded
//! an older [`generation`] belongs to a parent and must not be touched.

use std::sync::atomic::{AtomicU64, Ordering};

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The current process's generation: 0 in the first, one more per fork.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// Starts a new generation; call in a forked child before anything else.
pub fn after_fork_in_child() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
}
