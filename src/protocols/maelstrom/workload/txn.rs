//! Maelstrom's txn-rw-register and txn-list-append workloads (Gossip Glomers challenge 6):
//! one `txn` request of 1 to 4 micro-operations, `["r", k, null]` and `["w", k, v]` or
//! `["append", k, v]`, answered by `txn_ok` with the reads filled in. Recorded as the `txn`
//! operations the `Transactional` check reads, in Jepsen's form: the request when invoked,
//! the completed transaction on `txn_ok`. Written values are unique per key (client `rank` of
//! `clients` writes `rank + clients * k`), as Elle needs to tell versions apart.

use super::{error_code, Completion, MaelstromWorkload, Request, WorkloadClient};
use crate::history::Op;
use crate::protocols::maelstrom::wire::{codes, Message};
use crate::scenario::WorkloadSpec;
use crate::sim::rng::SimRng;
use rand::Rng;
use serde_json::{json, Value};

/// The longest transaction a client asks for.
const MAX_OPS: u32 = 4;

/// Which transactional workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnKind {
    /// `["w", k, v]` writes (txn-rw-register).
    RwRegister,
    /// `["append", k, v]` appends (txn-list-append).
    ListAppend,
}

/// Transactions of `workload.keys` keys, a `workload.reads` share of micro-operations reads
/// (check `Transactional`).
#[derive(Debug)]
pub struct Txn(pub TxnKind);

impl MaelstromWorkload for Txn {
    fn checks(&self) -> &'static [&'static str] {
        &["Transactional"]
    }

    fn client(&self, rank: u64, clients: u64, spec: &WorkloadSpec) -> Box<dyn WorkloadClient> {
        Box::new(TxnClient {
            kind: self.0,
            keys: u64::from(spec.keys.max(1)),
            reads: spec.reads.clamp(0.0, 1.0),
            rank,
            clients,
            written: 0,
        })
    }
}

#[derive(Debug)]
struct TxnClient {
    kind: TxnKind,
    keys: u64,
    reads: f64,
    rank: u64,
    clients: u64,
    written: u64,
}

impl WorkloadClient for TxnClient {
    fn next(&mut self, rng: &mut SimRng, _: bool) -> Request {
        let len = rng.random_range(1..=MAX_OPS);
        let txn: Vec<Value> = (0..len)
            .map(|_| {
                let key = rng.random_range(0..self.keys);
                if rng.random_bool(self.reads) {
                    return json!(["r", key, null]);
                }
                let value = self.rank + self.clients * self.written;
                self.written += 1;
                match self.kind {
                    TxnKind::RwRegister => json!(["w", key, value]),
                    TxnKind::ListAppend => json!(["append", key, value]),
                }
            })
            .collect();
        Request::new("txn", json!({"type": "txn", "txn": txn}))
    }

    fn invoked(&self, request: &Request, _: &str) -> Op {
        Op::custom("txn", request.body.get("txn").unwrap_or(&Value::Null))
    }

    fn completed(&mut self, request: &Request, node: &str, reply: &Message) -> Completion {
        match error_code(reply) {
            None => match reply.body.get("txn") {
                Some(txn @ Value::Array(_)) => Completion::Ok(Op::custom("txn", txn)),
                // A txn_ok without its transaction: what it read is unknown.
                _ => Completion::Info(self.invoked(request, node)),
            },
            Some(code) if codes::definite(code) => Completion::Fail(self.invoked(request, node)),
            Some(_) => Completion::Info(self.invoked(request, node)),
        }
    }
}
