//! Maelstrom's services as simulated nodes: `lin-kv`, `seq-kv`, `lww-kv` and `lin-tso`, sans-IO
//! nodes of the run (role `services`, named for the service), so a program's requests to them
//! cross the simulated network (latency, loss, partitions) and their answers come back the same
//! way. Each is a `Service`: a request body in, a reply body out, at a virtual time, with the
//! service node's own random stream.
//!
//! - `lin-kv`: one map, each request applied when it arrives: linearizable.
//! - `seq-kv`: sequentially consistent. Updates apply to the newest state; a read sees any
//!   state from the newest this client has seen (read or written) to the newest of all, drawn
//!   from the service's stream, and the client never sees an older one after. Stale reads are
//!   the norm, as Maelstrom's doc warns; a write or cas brings the client up to date.
//! - `lww-kv`: five replicas, each request served by one drawn at random; a write is stamped
//!   with the virtual time plus that replica's clock skew (up to 5 ms either way); replicas
//!   merge, the higher stamp winning, every 100 ms of virtual time. Reads are stale and
//!   concurrent updates lost, as Maelstrom means it to be.
//! - `lin-tso`: `ts` answered by `ts_ok` with 0, 1, 2, ...
//!
//! The key-value services answer `read` (`read_ok` with `value`, or error 20 when the key does
//! not exist), `write` (`write_ok`) and `cas` (`cas_ok`; error 20 for a missing key unless
//! `create_if_not_exists` is true, 22 when `from` does not match). A service keeps its state in
//! memory: a crash of a service node (only if a scenario targets it) forgets it.

use super::wire::codes;
use crate::sim::rng::SimRng;
use crate::time::{Duration, SimTime};
use rand::Rng;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;

/// The services, by the name programs address them with.
pub const NAMES: [&str; 4] = ["lin-kv", "seq-kv", "lww-kv", "lin-tso"];

/// A Maelstrom service: answers each request body with a reply body.
pub trait Service: Send + Sync + fmt::Debug {
    /// The reply to `request` from node `client` at virtual time `now` (without
    /// `in_reply_to`).
    fn handle(
        &mut self,
        client: &str,
        request: &Map<String, Value>,
        now: SimTime,
        rng: &mut SimRng,
    ) -> Value;
}

/// The service named `name` (one of `NAMES`), fresh.
pub fn named(name: &str) -> Option<Box<dyn Service>> {
    Some(match name {
        "lin-kv" => Box::new(LinKv::default()),
        "seq-kv" => Box::new(SeqKv::default()),
        "lww-kv" => Box::new(LwwKv::default()),
        "lin-tso" => Box::new(LinTso::default()),
        _ => return None,
    })
}

/// Maelstrom's error reply.
pub fn error(code: u64, text: &str) -> Value {
    json!({"type": "error", "code": code, "text": text})
}

/// A key-value request, read from its body.
enum KvOp {
    Read,
    Write(Value),
    Cas {
        from: Value,
        to: Value,
        create: bool,
    },
}

/// The request's key (as JSON text) and operation, or the error to answer.
fn kv_op(request: &Map<String, Value>) -> Result<(String, KvOp), Value> {
    let kind = request.get("type").and_then(Value::as_str).unwrap_or("");
    let field = |name: &str| {
        request.get(name).cloned().ok_or_else(|| {
            error(
                codes::MALFORMED_REQUEST,
                &format!("{kind} needs a `{name}`"),
            )
        })
    };
    let op = match kind {
        "read" => KvOp::Read,
        "write" => KvOp::Write(field("value")?),
        "cas" => KvOp::Cas {
            from: field("from")?,
            to: field("to")?,
            create: request
                .get("create_if_not_exists")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        },
        other => {
            return Err(error(
                codes::NOT_SUPPORTED,
                &format!("a key-value service answers read, write and cas, not `{other}`"),
            ))
        }
    };
    Ok((field("key")?.to_string(), op))
}

/// Applies `op` to a key holding `current`: the reply and the value to store, if it changes.
fn apply(op: KvOp, current: Option<&Value>) -> (Value, Option<Value>) {
    match (op, current) {
        (KvOp::Read, Some(v)) => (json!({"type": "read_ok", "value": v}), None),
        (KvOp::Read, None) => (error(codes::KEY_DOES_NOT_EXIST, "key does not exist"), None),
        (KvOp::Write(v), _) => (json!({"type": "write_ok"}), Some(v)),
        (KvOp::Cas { from, to, .. }, Some(v)) if *v == from => {
            (json!({"type": "cas_ok"}), Some(to))
        }
        (KvOp::Cas { from, .. }, Some(v)) => (
            error(
                codes::PRECONDITION_FAILED,
                &format!("expected {from}, but had {v}"),
            ),
            None,
        ),
        (
            KvOp::Cas {
                to, create: true, ..
            },
            None,
        ) => (json!({"type": "cas_ok"}), Some(to)),
        (KvOp::Cas { .. }, None) => (error(codes::KEY_DOES_NOT_EXIST, "key does not exist"), None),
    }
}

/// `lin-kv`: a linearizable key-value store.
#[derive(Debug, Default)]
pub struct LinKv {
    map: BTreeMap<String, Value>,
}

impl Service for LinKv {
    fn handle(
        &mut self,
        _: &str,
        request: &Map<String, Value>,
        _: SimTime,
        _: &mut SimRng,
    ) -> Value {
        let (key, op) = match kv_op(request) {
            Ok(x) => x,
            Err(e) => return e,
        };
        let (reply, new) = apply(op, self.map.get(&key));
        if let Some(v) = new {
            self.map.insert(key, v);
        }
        reply
    }
}

/// Versions of one key kept by `seq-kv`: enough for stale reads, bounded.
const SEQ_KEPT: usize = 64;

/// One key's versions in `seq-kv`: (global version, value or absent), oldest first.
#[derive(Debug, Default)]
struct Versions {
    kept: VecDeque<(u64, Option<Value>)>,
    /// Whether older versions were dropped (a read older than the first kept sees the first).
    pruned: bool,
}

impl Versions {
    /// The value as of global version `at`, and the version it was written at.
    fn at(&self, at: u64) -> (u64, Option<&Value>) {
        match self.kept.iter().rev().find(|(v, _)| *v <= at) {
            Some((v, value)) => (*v, value.as_ref()),
            None if self.pruned => {
                let (v, value) = &self.kept[0];
                (*v, value.as_ref())
            }
            None => (0, None),
        }
    }
}

/// `seq-kv`: a sequentially consistent key-value store whose reads may be stale.
#[derive(Debug, Default)]
pub struct SeqKv {
    keys: BTreeMap<String, Versions>,
    /// The newest global version (every update makes one).
    latest: u64,
    /// Per client, the oldest version it may still see.
    seen: BTreeMap<String, u64>,
}

impl Service for SeqKv {
    fn handle(
        &mut self,
        client: &str,
        request: &Map<String, Value>,
        _: SimTime,
        rng: &mut SimRng,
    ) -> Value {
        let (key, op) = match kv_op(request) {
            Ok(x) => x,
            Err(e) => return e,
        };
        let floor = self.seen.get(client).copied().unwrap_or(0);
        let versions = self.keys.entry(key).or_default();
        if let KvOp::Read = op {
            let drawn = rng.random_range(floor..=self.latest);
            let (written, value) = versions.at(drawn);
            let reply = apply(op, value).0;
            self.seen.insert(client.to_string(), drawn.max(written));
            return reply;
        }
        let (reply, new) = apply(op, versions.at(self.latest).1);
        if let Some(v) = new {
            self.latest += 1;
            versions.kept.push_back((self.latest, Some(v)));
            if versions.kept.len() > SEQ_KEPT {
                versions.kept.pop_front();
                versions.pruned = true;
            }
        }
        self.seen.insert(client.to_string(), self.latest);
        reply
    }
}

/// Replicas `lww-kv` simulates, as Maelstrom's default.
const LWW_REPLICAS: usize = 5;
/// How often `lww-kv`'s replicas merge.
const LWW_GOSSIP: Duration = Duration::from_millis(100);
/// The largest clock skew of a `lww-kv` replica, either way, in nanoseconds.
const LWW_SKEW: i64 = 5_000_000;

/// A value in one `lww-kv` replica: (stamp, replica that wrote it, value).
type Stamped = (i64, usize, Value);

/// `lww-kv`: independent replicas that merge by last-writer-wins now and then.
#[derive(Debug, Default)]
pub struct LwwKv {
    replicas: Vec<BTreeMap<String, Stamped>>,
    skew: Vec<i64>,
    /// The gossip round the replicas last merged in.
    merged: u64,
}

impl LwwKv {
    fn merge(&mut self) {
        let mut best: BTreeMap<String, Stamped> = BTreeMap::new();
        for r in &self.replicas {
            for (k, s) in r {
                if best.get(k).is_none_or(|b| (s.0, s.1) > (b.0, b.1)) {
                    best.insert(k.clone(), s.clone());
                }
            }
        }
        for r in &mut self.replicas {
            r.clone_from(&best);
        }
    }
}

impl Service for LwwKv {
    fn handle(
        &mut self,
        _: &str,
        request: &Map<String, Value>,
        now: SimTime,
        rng: &mut SimRng,
    ) -> Value {
        if self.replicas.is_empty() {
            self.replicas = vec![BTreeMap::new(); LWW_REPLICAS];
            self.skew = (0..LWW_REPLICAS)
                .map(|_| rng.random_range(-LWW_SKEW..=LWW_SKEW))
                .collect();
        }
        let round = now.0 / LWW_GOSSIP.0;
        if round > self.merged {
            self.merge();
            self.merged = round;
        }
        let (key, op) = match kv_op(request) {
            Ok(x) => x,
            Err(e) => return e,
        };
        let r = rng.random_range(0..LWW_REPLICAS);
        let replica = &mut self.replicas[r];
        let (reply, new) = apply(op, replica.get(&key).map(|s| &s.2));
        if let Some(v) = new {
            let stamp = now.0 as i64 + self.skew[r];
            replica.insert(key, (stamp, r, v));
        }
        reply
    }
}

/// `lin-tso`: a linearizable timestamp oracle.
#[derive(Debug, Default)]
pub struct LinTso {
    next: u64,
}

impl Service for LinTso {
    fn handle(
        &mut self,
        _: &str,
        request: &Map<String, Value>,
        _: SimTime,
        _: &mut SimRng,
    ) -> Value {
        match request.get("type").and_then(Value::as_str) {
            Some("ts") => {
                let ts = self.next;
                self.next += 1;
                json!({"type": "ts_ok", "ts": ts})
            }
            other => error(
                codes::NOT_SUPPORTED,
                &format!("lin-tso answers ts, not {}", other.unwrap_or("nothing")),
            ),
        }
    }
}

/// A node of the services' role whose name names no service: answers every request with
/// error 10 (`validate` refuses such names, so no run has one).
#[derive(Debug)]
pub struct Unknown;

impl Service for Unknown {
    fn handle(&mut self, _: &str, _: &Map<String, Value>, _: SimTime, _: &mut SimRng) -> Value {
        error(codes::NOT_SUPPORTED, "no such service")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn body(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn ask(s: &mut dyn Service, client: &str, req: Value, rng: &mut SimRng) -> Value {
        s.handle(client, &body(req), SimTime(0), rng)
    }

    #[test]
    fn lin_kv_answers_as_maelstrom_documents() {
        let rng = &mut SimRng::seed_from_u64(1);
        let s = &mut LinKv::default();
        let e = ask(s, "n1", json!({"type": "read", "key": "x"}), rng);
        assert_eq!(e["code"], 20);
        let e = ask(
            s,
            "n1",
            json!({"type": "cas", "key": "x", "from": 1, "to": 2}),
            rng,
        );
        assert_eq!(e["code"], 20);
        let ok = ask(
            s,
            "n1",
            json!({"type": "cas", "key": "x", "from": 1, "to": 2, "create_if_not_exists": true}),
            rng,
        );
        assert_eq!(ok["type"], "cas_ok");
        let e = ask(
            s,
            "n1",
            json!({"type": "cas", "key": "x", "from": 1, "to": 3}),
            rng,
        );
        assert_eq!(e["code"], 22);
        ask(
            s,
            "n1",
            json!({"type": "write", "key": "x", "value": 7}),
            rng,
        );
        let r = ask(s, "n2", json!({"type": "read", "key": "x"}), rng);
        assert_eq!(r, json!({"type": "read_ok", "value": 7}));
        let e = ask(s, "n2", json!({"type": "frob", "key": "x"}), rng);
        assert_eq!(e["code"], 10);
    }

    #[test]
    fn seq_kv_reads_go_stale_but_never_back_and_a_write_brings_a_client_up_to_date() {
        let rng = &mut SimRng::seed_from_u64(7);
        let s = &mut SeqKv::default();
        for v in 0..50 {
            ask(
                s,
                "n1",
                json!({"type": "write", "key": "k", "value": v}),
                rng,
            );
        }
        let mut stale = 0;
        let mut last = -1;
        for _ in 0..30 {
            let r = ask(s, "n2", json!({"type": "read", "key": "k"}), rng);
            let v = r["value"].as_i64().unwrap_or(-1);
            assert!(v >= last, "n2 went back from {last} to {v}");
            last = v;
            stale += usize::from(v != 49);
        }
        assert!(stale > 0, "seq-kv never served a stale read");
        ask(
            s,
            "n3",
            json!({"type": "write", "key": "other", "value": 0}),
            rng,
        );
        let r = ask(s, "n3", json!({"type": "read", "key": "k"}), rng);
        assert_eq!(r["value"], 49, "a write did not bring n3 up to date");
    }

    #[test]
    fn lww_kv_loses_concurrent_updates_and_converges_after_gossip() {
        let rng = &mut SimRng::seed_from_u64(3);
        let s = &mut LwwKv::default();
        let mut lost = false;
        for round in 0..20u64 {
            let t = SimTime(round * LWW_GOSSIP.0);
            for v in 0..5 {
                let w = json!({"type": "write", "key": "k", "value": round * 10 + v});
                s.handle("n1", &body(w), t, rng);
            }
            let later = SimTime(t.0 + LWW_GOSSIP.0 - 1);
            let r = s.handle("n2", &body(json!({"type": "read", "key": "k"})), later, rng);
            lost |= r["value"] != json!(round * 10 + 4);
        }
        assert!(lost, "lww-kv never lost or hid the last write");
        let end = SimTime(100 * LWW_GOSSIP.0);
        let reads: Vec<Value> = (0..10)
            .map(|_| s.handle("n3", &body(json!({"type": "read", "key": "k"})), end, rng))
            .collect();
        assert!(reads.windows(2).all(|w| w[0] == w[1]), "{reads:?}");
    }

    #[test]
    fn lin_tso_counts_up() {
        let rng = &mut SimRng::seed_from_u64(1);
        let s = &mut LinTso::default();
        let a = ask(s, "n1", json!({"type": "ts"}), rng);
        let b = ask(s, "n2", json!({"type": "ts"}), rng);
        assert_eq!((a["ts"].as_u64(), b["ts"].as_u64()), (Some(0), Some(1)));
    }
}
