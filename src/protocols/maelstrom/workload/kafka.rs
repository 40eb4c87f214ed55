//! Maelstrom's kafka workload (Gossip Glomers challenge 5): append-only logs named by string
//! keys. Clients `send` unique messages (client `rank` of `clients` sends `rank + clients *
//! k`), `poll` every key from the offset after the last one they saw, `commit_offsets` what
//! they have polled and `list_committed_offsets`; recorded as the requests' and replies'
//! bodies for the `KafkaLog` check.

use super::{reply_body, Completion, MaelstromWorkload, Request, WorkloadClient};
use crate::protocols::maelstrom::wire::Message;
use crate::scenario::WorkloadSpec;
use crate::sim::rng::SimRng;
use rand::Rng;
use serde_json::{json, Map, Value};

/// `send`, `poll`, `commit_offsets`, `list_committed_offsets` over `workload.keys` logs
/// (check `KafkaLog`); `workload.reads` is the share of calls that are not sends.
#[derive(Debug)]
pub struct Kafka;

impl MaelstromWorkload for Kafka {
    fn checks(&self) -> &'static [&'static str] {
        &["KafkaLog"]
    }

    fn client(&self, rank: u64, clients: u64, spec: &WorkloadSpec) -> Box<dyn WorkloadClient> {
        let keys = spec.keys.max(1);
        Box::new(KafkaClient {
            keys: (0..keys).map(|k| k.to_string()).collect(),
            next: vec![0; keys as usize],
            rank,
            clients,
            sent: 0,
        })
    }
}

#[derive(Debug)]
struct KafkaClient {
    keys: Vec<String>,
    /// Per key, the offset this client polls from next: one past the last it saw.
    next: Vec<u64>,
    rank: u64,
    clients: u64,
    sent: u64,
}

impl KafkaClient {
    fn offsets(&self, polled_only: bool) -> Map<String, Value> {
        self.keys
            .iter()
            .zip(&self.next)
            .filter(|(_, n)| !polled_only || **n > 0)
            .map(|(k, n)| {
                let at = if polled_only { *n - 1 } else { *n };
                (k.clone(), json!(at))
            })
            .collect()
    }
}

impl WorkloadClient for KafkaClient {
    fn next(&mut self, rng: &mut SimRng, read: bool) -> Request {
        if !read {
            let key = &self.keys[rng.random_range(0..self.keys.len())];
            let msg = self.rank + self.clients * self.sent;
            self.sent += 1;
            return Request::new("send", json!({"type": "send", "key": key, "msg": msg}));
        }
        match rng.random_range(0..5) {
            0 if self.next.iter().any(|n| *n > 0) => Request::new(
                "commit_offsets",
                json!({"type": "commit_offsets", "offsets": self.offsets(true)}),
            ),
            1 => Request::new(
                "list_committed_offsets",
                json!({"type": "list_committed_offsets", "keys": self.keys}),
            ),
            _ => Request::new(
                "poll",
                json!({"type": "poll", "offsets": self.offsets(false)}),
            ),
        }
    }

    fn completed(&mut self, request: &Request, node: &str, reply: &Message) -> Completion {
        if reply.kind == "poll_ok" {
            if let Some(Value::Object(msgs)) = reply.body.get("msgs") {
                for (i, key) in self.keys.iter().enumerate() {
                    let last = msgs
                        .get(key)
                        .and_then(Value::as_array)
                        .and_then(|pairs| pairs.last())
                        .and_then(|pair| pair.get(0))
                        .and_then(Value::as_u64);
                    if let Some(last) = last {
                        self.next[i] = self.next[i].max(last.saturating_add(1));
                    }
                }
            }
        }
        reply_body(request, node, reply)
    }
}
