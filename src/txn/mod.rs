//! Transactional checking in the manner of Elle: a dependency graph inferred from a history of
//! transactions (write-write, write-read and read-write edges between them), in which every
//! anomaly is a class of cycle, and the anomalies that are not cycles.
//!
//! - `record.rs`: transactions as read from any history format (`lin::formats`), their steps,
//!   and the process and real-time orders between them.
//! - `list_append.rs`: Jepsen's list-append workload, whose reads reveal each key's version
//!   order; `rw_register.rs`: the rw-register workload, whose version order is inferred from
//!   the initial state and, when asked, from writes following reads, per-key sequential or
//!   linearizable order.
//! - `graph.rs`: the graph and its cycles (petgraph's strongly connected components, then a
//!   shortest cycle through each edge of interest): G0, G1c, G-single, G2-item and their
//!   process and real-time forms.
//! - `checked.rs`: what was found; `isolation.rs`: the consistency models and what each rules
//!   out (read-uncommitted to strict-serializable).
//!
//! The in-run check on a run's history is `check::Transactional`.

pub mod checked;
pub mod graph;
pub mod isolation;
pub mod list_append;
pub mod record;
pub mod rw_register;

pub use checked::{Checked, Finding};
pub use graph::{Anomaly, Cycle, Edge, EdgeKind};
pub use isolation::{Isolation, Level};
pub use list_append::{check_list_append, check_list_append_with};
pub use record::{Orders, Step, Txn, Workload};
pub use rw_register::{check_rw_register, Assume};

use crate::lin::{ModelError, Operation};

/// Checks `ops` as transactions of `workload`, with `orders` added to their dependencies and,
/// for rw-register, the version orders `assume` allows.
pub fn check(
    workload: Workload,
    ops: &[Operation],
    orders: Orders,
    assume: Assume,
) -> Result<Checked, ModelError> {
    match workload {
        Workload::ListAppend => check_list_append_with(ops, orders),
        Workload::RwRegister => check_rw_register(ops, orders, assume),
    }
}
