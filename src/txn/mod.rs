//! Transactional checking in the manner of Elle: a dependency graph inferred from a history of
//! transactions (write-write, write-read and read-write edges between them), in which every
//! anomaly is a class of cycle. A first slice: Jepsen's list-append workload
//! (`list_append.rs`: transactions of `[:append k v]` and `[:r k list]` steps, read with the
//! `lin::formats` readers), the graph and its cycles (`graph.rs`, petgraph's strongly connected
//! components, then a shortest cycle through each edge of interest), named G0, G1c, G-single
//! and G2-item, each explained in words and with the consistency models it rules out; and the
//! two anomalies that are not cycles, G1a (a read of an aborted append) and G1b (a read of an
//! intermediate state). Process and real-time order may be added (`Orders`), for the
//! strong-session and strict forms of each cycle (`G-single-process`, `G2-item-realtime`).

pub mod graph;
pub mod list_append;

pub use graph::{Anomaly, Cycle, Edge, EdgeKind};
pub use list_append::{check_list_append, check_list_append_with, Checked, Orders, Txn};
