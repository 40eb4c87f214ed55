//! A node that panics ends its run as a failure, not a crash of the program: `Sim::run` catches
//! the panic and the outcome says which node panicked, handling what, where and why.
//!
//! `quiet_panics()` (the CLI calls it) installs, once per process, a panic hook that stays
//! silent for panics inside a run on this thread (the report shows them) and records where they
//! were raised; any other panic goes to the previous hook as before.

use crate::node::NodeId;
use crate::time::SimTime;
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

/// A node's panic, as the run that caught it reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Panic {
    /// The node whose handler panicked.
    pub node: NodeId,
    /// Virtual time of the event it was handling.
    pub time: SimTime,
    /// What it was handling: "start", "a message from #2", "a timer".
    pub handling: String,
    /// The panic's message.
    pub message: String,
    /// `file:line` where it was raised, when the quiet hook is installed.
    pub location: Option<String>,
}

thread_local! {
    static IN_RUN: Cell<bool> = const { Cell::new(false) };
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once per process) the hook that keeps panics inside runs quiet and records where
/// they were raised; panics elsewhere reach the previous hook unchanged.
pub fn quiet_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_RUN.with(Cell::get) {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()));
                LOCATION.with(|l| *l.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
}

/// A caught panic's message and location.
pub(crate) struct Caught {
    pub(crate) message: String,
    pub(crate) location: Option<String>,
}

/// Runs `f`, turning a panic into `Err`.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Caught> {
    let was = IN_RUN.with(|r| r.replace(true));
    LOCATION.with(|l| *l.borrow_mut() = None);
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_RUN.with(|r| r.set(was));
    result.map_err(|payload| Caught {
        message: payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string()),
        location: LOCATION.with(|l| l.borrow_mut().take()),
    })
}
