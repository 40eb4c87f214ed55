//! The first workloads of Gossip Glomers: echo, unique-ids, broadcast, g-counter and
//! pn-counter, recorded as the requests' and replies' bodies.

use super::{MaelstromWorkload, Request, WorkloadClient};
use crate::protocols::maelstrom::{wire, Topology};
use crate::scenario::WorkloadSpec;
use crate::sim::rng::SimRng;
use rand::Rng;
use serde_json::json;

/// `echo`: every reply must carry the request's text (check `Echo`).
#[derive(Debug)]
pub struct Echo;

impl MaelstromWorkload for Echo {
    fn checks(&self) -> &'static [&'static str] {
        &["Echo"]
    }

    fn client(&self, _: u64, _: u64, _: &WorkloadSpec) -> Box<dyn WorkloadClient> {
        Box::new(EchoClient)
    }
}

#[derive(Debug)]
struct EchoClient;

impl WorkloadClient for EchoClient {
    fn next(&mut self, rng: &mut SimRng, _: bool) -> Request {
        let n: u32 = rng.random_range(0..1_000_000);
        Request::new(
            "echo",
            json!({"type": "echo", "echo": format!("Please echo {n}")}),
        )
    }
}

/// `generate`: every id must be unique (check `UniqueIds`).
#[derive(Debug)]
pub struct UniqueIds;

impl MaelstromWorkload for UniqueIds {
    fn checks(&self) -> &'static [&'static str] {
        &["UniqueIds"]
    }

    fn client(&self, _: u64, _: u64, _: &WorkloadSpec) -> Box<dyn WorkloadClient> {
        Box::new(GenerateClient)
    }
}

#[derive(Debug)]
struct GenerateClient;

impl WorkloadClient for GenerateClient {
    fn next(&mut self, _: &mut SimRng, _: bool) -> Request {
        Request::new("generate", json!({"type": "generate"}))
    }
}

/// `broadcast` and `read` after a `topology` message; final reads (check `BroadcastDelivered`).
#[derive(Debug)]
pub struct Broadcast(pub Topology);

impl MaelstromWorkload for Broadcast {
    fn checks(&self) -> &'static [&'static str] {
        &["BroadcastDelivered"]
    }

    fn final_reads(&self) -> bool {
        true
    }

    fn setup(&self, node: &str, nodes: &[&str]) -> Vec<(&'static str, String)> {
        vec![("topology", wire::topology(node, nodes, self.0))]
    }

    fn client(&self, rank: u64, clients: u64, _: &WorkloadSpec) -> Box<dyn WorkloadClient> {
        Box::new(BroadcastClient {
            rank,
            clients,
            calls: 0,
        })
    }
}

/// Client `rank` of `clients` broadcasts `rank + clients * k` in its call k (reads count):
/// unique values.
#[derive(Debug)]
struct BroadcastClient {
    rank: u64,
    clients: u64,
    calls: u64,
}

impl WorkloadClient for BroadcastClient {
    fn next(&mut self, _: &mut SimRng, read: bool) -> Request {
        let call = self.calls;
        self.calls += 1;
        if read {
            return Request::new("read", json!({"type": "read"}));
        }
        let message = self.rank + self.clients * call;
        Request::new(
            "broadcast",
            json!({"type": "broadcast", "message": message}),
        )
    }
}

/// `add` and `read` of a counter, grow-only or not; final reads (check `CounterConverged`).
#[derive(Debug)]
pub struct Counter {
    /// Whether adds may be negative (pn-counter).
    pub negative: bool,
}

impl MaelstromWorkload for Counter {
    fn checks(&self) -> &'static [&'static str] {
        &["CounterConverged"]
    }

    fn final_reads(&self) -> bool {
        true
    }

    fn client(&self, _: u64, _: u64, _: &WorkloadSpec) -> Box<dyn WorkloadClient> {
        Box::new(CounterClient {
            negative: self.negative,
        })
    }
}

#[derive(Debug)]
struct CounterClient {
    negative: bool,
}

impl WorkloadClient for CounterClient {
    fn next(&mut self, rng: &mut SimRng, read: bool) -> Request {
        if read {
            return Request::new("read", json!({"type": "read"}));
        }
        // Drawn as the counters always drew them, so their runs stay as they were.
        let delta = if self.negative {
            json!(rng.random_range(-5..=5i32))
        } else {
            json!(rng.random_range(1..=5u32))
        };
        Request::new("add", json!({"type": "add", "delta": delta}))
    }
}
