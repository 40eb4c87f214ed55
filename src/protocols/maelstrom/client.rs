//! The workload's clients, as Maelstrom's are: each issues one request at a time to a program
//! node drawn from its own stream, waits for the reply or `workload.timeout`, and records the
//! call in the history (ok on a reply, fail on a definite error, info on an indefinite one or
//! no answer). Broadcast and counter workloads end with a final read of every node, `settle`
//! after the workload stops, retried until it is answered.
//!
//! What a client asks and how each call is recorded is its workload's (`workload/`): by default
//! `Op::custom(name, {"node": "n1", "body": {...}})`, the request's body when invoked and the
//! reply's when completed; final reads are `final_read`.

use super::wire::{self, Packet};
use super::workload::{self, Completion, Request, WorkloadClient};
use super::{MaelstromNode, MaelstromTimer, Shared};
use crate::history::OpId;
use crate::node::{Context, NodeId};
use crate::time::Duration;
use rand::Rng;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

type Ctx<'a, 'b> = &'a mut Context<'b, MaelstromNode>;

/// Each client incarnation numbers its `msg_id`s from 1 past this many times its earlier
/// boots, so a restarted client never takes a reply meant for its previous life.
const IDS_PER_BOOT: u64 = 1_000_000_000;

/// A workload client.
pub struct ClientNode {
    shared: Arc<Shared>,
    rank: usize,
    next_msg_id: u64,
    pending: BTreeMap<u64, Pending>,
    issued: u64,
    calls: Box<dyn WorkloadClient>,
}

impl std::fmt::Debug for ClientNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientNode")
            .field("rank", &self.rank)
            .field("issued", &self.issued)
            .field("pending", &self.pending)
            .field("calls", &self.calls)
            .finish()
    }
}

/// A request waiting for its reply.
#[derive(Debug)]
struct Pending {
    op: OpId,
    request: Request,
    node: NodeId,
}

impl ClientNode {
    /// A client of the run `shared` describes.
    pub(crate) fn new(shared: Arc<Shared>, id: NodeId) -> ClientNode {
        let rank = shared.clients.iter().position(|c| *c == id).unwrap_or(0);
        let clients = shared.clients.len().max(1) as u64;
        let calls = shared.driver.client(rank as u64, clients, &shared.workload);
        ClientNode {
            shared,
            rank,
            next_msg_id: 0,
            pending: BTreeMap::new(),
            issued: 0,
            calls,
        }
    }

    fn gap(&self, ctx: Ctx<'_, '_>) -> Duration {
        let i = self.shared.workload.interval.0.max(2);
        Duration(i / 2 + ctx.rng().random_range(0..i))
    }

    pub(super) fn on_start(&mut self, ctx: Ctx<'_, '_>) {
        let boot = ctx.storage().get("boots").map_or(1, |b| b + 1);
        ctx.storage().put("boots", boot);
        ctx.storage().sync();
        self.next_msg_id = (boot - 1) * IDS_PER_BOOT + 1;
        let w = &self.shared.workload;
        let until_start = w.start.0.saturating_sub(ctx.now().0);
        let gap = self.gap(ctx);
        ctx.set_timer(Duration(until_start) + gap, MaelstromTimer::Next);
        if self.shared.driver.final_reads() {
            let at = w.stop.unwrap_or(Duration::ZERO) + self.shared.params.settle;
            let after = Duration(at.0.saturating_sub(ctx.now().0));
            let clients = self.shared.clients.len().max(1);
            for (i, node) in self.shared.programs.iter().enumerate() {
                if i % clients == self.rank {
                    ctx.set_timer(after, MaelstromTimer::FinalRead(*node));
                }
            }
        }
    }

    pub(super) fn on_timer(&mut self, ctx: Ctx<'_, '_>, timer: MaelstromTimer) {
        match timer {
            MaelstromTimer::Next => self.next(ctx),
            MaelstromTimer::Timeout(msg_id) => {
                if let Some(p) = self.pending.remove(&msg_id) {
                    let node = ctx.roster().name(p.node).to_string();
                    let op = if p.request.name == FINAL_READ {
                        workload::request_body(&p.request, &node)
                    } else {
                        self.calls.unanswered(&p.request, &node)
                    };
                    ctx.info(p.op, op);
                    if p.request.name == FINAL_READ {
                        ctx.set_timer(Duration::ZERO, MaelstromTimer::FinalRead(p.node));
                    }
                }
            }
            MaelstromTimer::FinalRead(node) => {
                let read = Request::new(FINAL_READ, json!({"type": "read"}));
                self.request(ctx, node, read);
            }
            MaelstromTimer::Program(_) => {}
        }
    }

    fn next(&mut self, ctx: Ctx<'_, '_>) {
        let w = self.shared.workload.clone();
        if w.stop.is_some_and(|stop| ctx.now().0 >= stop.0) {
            return;
        }
        let clients = self.shared.clients.len().max(1) as u64;
        if w.ops > 0 && self.issued >= u64::from(w.ops).div_ceil(clients) {
            return;
        }
        let gap = self.gap(ctx);
        ctx.set_timer(gap, MaelstromTimer::Next);
        if self.pending.values().any(|p| p.request.name != FINAL_READ) {
            return;
        }
        let programs = &self.shared.programs;
        let node = programs[ctx.rng().random_range(0..programs.len())];
        let read = ctx.rng().random_bool(w.reads.clamp(0.0, 1.0));
        let request = self.calls.next(ctx.rng(), read);
        self.issued += 1;
        self.request(ctx, node, request);
    }

    fn request(&mut self, ctx: Ctx<'_, '_>, node: NodeId, request: Request) {
        let msg_id = self.next_msg_id;
        self.next_msg_id += 1;
        let me = ctx.roster().name(ctx.id()).to_string();
        let to = ctx.roster().name(node).to_string();
        let op = ctx.invoke(if request.name == FINAL_READ {
            workload::request_body(&request, &to)
        } else {
            self.calls.invoked(&request, &to)
        });
        let kind = request
            .body
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let line = wire::request(&me, &to, msg_id, request.body.clone());
        ctx.send(node, Packet::new(kind, line));
        self.pending.insert(msg_id, Pending { op, request, node });
        let timeout = self.shared.workload.timeout;
        ctx.set_timer(timeout, MaelstromTimer::Timeout(msg_id));
    }

    pub(super) fn on_message(&mut self, ctx: Ctx<'_, '_>, from: NodeId, msg: Packet) {
        let Ok(reply) = wire::parse(msg.text()) else {
            return;
        };
        let Some(p) = reply.in_reply_to().and_then(|id| self.pending.remove(&id)) else {
            return;
        };
        let node = ctx.roster().name(from).to_string();
        let final_read = p.request.name == FINAL_READ;
        let completion = if final_read {
            workload::reply_body(&p.request, &node, &reply)
        } else {
            self.calls.completed(&p.request, &node, &reply)
        };
        match completion {
            Completion::Ok(op) => return ctx.ok(p.op, op),
            Completion::Fail(op) => ctx.fail(p.op, op),
            Completion::Info(op) => ctx.info(p.op, op),
        }
        if final_read {
            let retry = self.shared.workload.interval;
            ctx.set_timer(retry, MaelstromTimer::FinalRead(p.node));
        }
    }
}

/// The name of a final read in the history.
pub const FINAL_READ: &str = "final_read";

/// A call's `body` (request or reply), from its recorded value.
pub fn body_of(value: &Value) -> Option<&Map<String, Value>> {
    value.get("body")?.as_object()
}
