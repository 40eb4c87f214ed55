//! The workloads' seam: what a workload's clients ask the programs, how each call is recorded
//! in the history, and which checks judge it. A workload is a `MaelstromWorkload` (one per
//! run) that hands each client a `WorkloadClient` (its own generator and memory); the scenario's
//! `Workload` names one, and nothing else in the adapter knows which it is.
//!
//! Shipped: `basic.rs` (echo, unique-ids, broadcast, g-counter, pn-counter), `kafka.rs`,
//! `lin_kv.rs`, `txn.rs` (txn-rw-register, txn-list-append).

mod basic;
mod kafka;
mod lin_kv;
mod txn;

pub use basic::{Broadcast, Counter, Echo, UniqueIds};
pub use kafka::Kafka;
pub use lin_kv::LinKv;
pub use txn::{Txn, TxnKind};

use super::wire::{codes, Message};
use crate::history::Op;
use crate::scenario::WorkloadSpec;
use crate::sim::rng::SimRng;
use serde_json::{json, Map, Value};
use std::fmt;

/// A Maelstrom workload: its checks, the set-up messages, and a generator per client.
pub trait MaelstromWorkload: Send + Sync + fmt::Debug {
    /// The checks made for this workload's history (the first is the one it is named for).
    fn checks(&self) -> &'static [&'static str];

    /// Whether the clients end with a `read` of every node, `settle` after the workload stops.
    fn final_reads(&self) -> bool {
        false
    }

    /// Requests clustersim sends each program (as `c0`) after `init`: (name, line).
    fn setup(&self, _node: &str, _nodes: &[&str]) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// The generator of client `rank` of `clients`.
    fn client(&self, rank: u64, clients: u64, spec: &WorkloadSpec) -> Box<dyn WorkloadClient>;
}

/// One request of a client: its name in the history and its body (without `msg_id`).
#[derive(Clone, Debug)]
pub struct Request {
    /// The call's name in the history (`send`, `read`, `txn`, ...).
    pub name: &'static str,
    /// The body sent.
    pub body: Map<String, Value>,
}

impl Request {
    /// A request named `name` with body `body` (a JSON object; anything else is empty).
    pub fn new(name: &'static str, body: Value) -> Request {
        let body = match body {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        Request { name, body }
    }
}

/// How a reply completes a call in the history.
#[derive(Clone, Debug, PartialEq)]
pub enum Completion {
    /// It took effect, as this operation.
    Ok(Op),
    /// It certainly did not take effect.
    Fail(Op),
    /// It may or may not have taken effect.
    Info(Op),
}

/// One client's generator and its record of calls.
pub trait WorkloadClient: Send + Sync + fmt::Debug {
    /// The next request; `read` is the client's draw of a read (`workload.reads`).
    fn next(&mut self, rng: &mut SimRng, read: bool) -> Request;

    /// The history's record of `request` sent to `node`.
    fn invoked(&self, request: &Request, node: &str) -> Op {
        request_body(request, node)
    }

    /// The history's record of `reply` from `node` to `request`; by default the reply's body
    /// (an `error` with a definite code fails, any other error is indefinite).
    fn completed(&mut self, request: &Request, node: &str, reply: &Message) -> Completion {
        reply_body(request, node, reply)
    }

    /// The history's record of `request` to `node` left unanswered (timed out).
    fn unanswered(&self, request: &Request, node: &str) -> Op {
        self.invoked(request, node)
    }
}

/// A request recorded as its body under its name: `{"node": "n1", "body": {...}}`.
pub fn request_body(request: &Request, node: &str) -> Op {
    Op::custom(request.name, &json!({"node": node, "body": request.body}))
}

/// A reply recorded as its body under the request's name: ok, or an `error` that fails when
/// its code is definite and is indefinite otherwise.
pub fn reply_body(request: &Request, node: &str, reply: &Message) -> Completion {
    let op = Op::custom(request.name, &json!({"node": node, "body": reply.body}));
    match error_code(reply) {
        None => Completion::Ok(op),
        Some(code) if codes::definite(code) => Completion::Fail(op),
        Some(_) => Completion::Info(op),
    }
}

/// The code of an `error` reply (`u64::MAX` when it has none); `None` for any other reply.
pub fn error_code(reply: &Message) -> Option<u64> {
    (reply.kind == "error").then(|| {
        reply
            .body
            .get("code")
            .and_then(Value::as_u64)
            .unwrap_or(u64::MAX)
    })
}
