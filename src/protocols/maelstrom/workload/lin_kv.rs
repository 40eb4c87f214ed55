//! Maelstrom's lin-kv workload: `read`, `write` and `cas` of integer keys holding small
//! integers (0 to 4, as Maelstrom draws them, so a `cas` often finds its `from`), recorded as
//! the key-value operations the `Linearizable` check reads (`Op::Get`, `Op::Put`, `Op::Cas`).
//!
//! Errors as Maelstrom defines them: a `read` answered with 20 (key does not exist) is a read
//! of nothing, an observation; a `cas` answered with 20 or 22 (precondition failed) is a cas
//! whose compare failed (`Op::CasFailed`, recorded as fail: no effect, still an observation);
//! any other definite error (11, temporarily unavailable, ...) did not happen, and an
//! indefinite one (0, timed out; 13, crashed; a custom code) may or may not have.

use super::{error_code, Completion, MaelstromWorkload, Request, WorkloadClient};
use crate::history::Op;
use crate::protocols::maelstrom::wire::{codes, Message};
use crate::scenario::WorkloadSpec;
use crate::sim::rng::SimRng;
use rand::Rng;
use serde_json::{json, Value};

/// Values written and compared: 0 to 4, as Maelstrom's lin-kv workload draws them.
const VALUES: u64 = 5;

/// `read`, `write`, `cas` of `workload.keys` keys (check `Linearizable`).
#[derive(Debug)]
pub struct LinKv;

impl MaelstromWorkload for LinKv {
    fn checks(&self) -> &'static [&'static str] {
        &["Linearizable"]
    }

    fn client(&self, _: u64, _: u64, spec: &WorkloadSpec) -> Box<dyn WorkloadClient> {
        Box::new(LinKvClient {
            keys: u64::from(spec.keys.max(1)),
            cas: spec.cas.clamp(0.0, 1.0),
        })
    }
}

#[derive(Debug)]
struct LinKvClient {
    keys: u64,
    cas: f64,
}

/// A request's key, and its `from`/`to`/`value` fields, as numbers.
fn field(request: &Request, name: &str) -> Option<u64> {
    request.body.get(name).and_then(Value::as_u64)
}

impl WorkloadClient for LinKvClient {
    fn next(&mut self, rng: &mut SimRng, read: bool) -> Request {
        let key = rng.random_range(0..self.keys);
        if read {
            return Request::new("read", json!({"type": "read", "key": key}));
        }
        if rng.random_bool(self.cas) {
            let from = rng.random_range(0..VALUES);
            let to = rng.random_range(0..VALUES);
            return Request::new(
                "cas",
                json!({"type": "cas", "key": key, "from": from, "to": to}),
            );
        }
        let value = rng.random_range(0..VALUES);
        Request::new(
            "write",
            json!({"type": "write", "key": key, "value": value}),
        )
    }

    fn invoked(&self, request: &Request, _: &str) -> Op {
        let key = field(request, "key").unwrap_or(0);
        match request.name {
            "read" => Op::Get { key, value: None },
            "cas" => Op::Cas {
                key,
                from: field(request, "from"),
                to: field(request, "to").unwrap_or(0),
            },
            _ => Op::Put {
                key,
                value: field(request, "value").unwrap_or(0),
            },
        }
    }

    fn completed(&mut self, request: &Request, node: &str, reply: &Message) -> Completion {
        let invoked = self.invoked(request, node);
        let code = error_code(reply);
        match (invoked, code) {
            (Op::Get { key, .. }, None) => match reply.body.get("value") {
                Some(v) if v.is_u64() => Completion::Ok(Op::Get {
                    key,
                    value: v.as_u64(),
                }),
                // A value no write could have put there: an observation the search refutes.
                _ => Completion::Ok(Op::Get {
                    key,
                    value: Some(u64::MAX),
                }),
            },
            (Op::Get { key, .. }, Some(codes::KEY_DOES_NOT_EXIST)) => {
                Completion::Ok(Op::Get { key, value: None })
            }
            (
                Op::Cas { key, from, to },
                Some(codes::KEY_DOES_NOT_EXIST | codes::PRECONDITION_FAILED),
            ) => Completion::Fail(Op::CasFailed { key, from, to }),
            (op, None) => Completion::Ok(op),
            (op, Some(code)) if codes::definite(code) => Completion::Fail(op),
            (op, Some(_)) => Completion::Info(op),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn reply(body: Value) -> Message {
        let body: Map<String, Value> = body.as_object().cloned().unwrap_or_default();
        Message {
            src: "n1".into(),
            dest: "c1".into(),
            kind: body["type"].as_str().unwrap_or("").into(),
            body,
        }
    }

    fn record(request: Value, answer: Value) -> Completion {
        let mut client = LinKvClient { keys: 1, cas: 0.5 };
        let name = match request["type"].as_str() {
            Some("read") => "read",
            Some("cas") => "cas",
            _ => "write",
        };
        client.completed(&Request::new(name, request), "n1", &reply(answer))
    }

    fn error(code: u64) -> Value {
        json!({"type": "error", "code": code})
    }

    #[test]
    fn maelstrom_error_codes_say_what_a_call_did() {
        let read = json!({"type": "read", "key": 3});
        let cas = json!({"type": "cas", "key": 3, "from": 1, "to": 2});
        let write = json!({"type": "write", "key": 3, "value": 4});
        let get = |value| Op::Get { key: 3, value };
        assert_eq!(
            record(read.clone(), json!({"type": "read_ok", "value": 4})),
            Completion::Ok(get(Some(4)))
        );
        // 20 on a read: the key holds nothing, an observation.
        assert_eq!(record(read, error(20)), Completion::Ok(get(None)));
        let failed = Op::CasFailed {
            key: 3,
            from: Some(1),
            to: 2,
        };
        // 20 or 22 on a cas: the compare failed, no effect, still an observation.
        assert_eq!(
            record(cas.clone(), error(22)),
            Completion::Fail(failed.clone())
        );
        assert_eq!(record(cas.clone(), error(20)), Completion::Fail(failed));
        let put = Op::Put { key: 3, value: 4 };
        // 11, temporarily unavailable, is definite: it did not happen.
        assert_eq!(
            record(write.clone(), error(11)),
            Completion::Fail(put.clone())
        );
        // 0 (timed out), 13 (crashed) and custom codes may or may not have happened.
        for code in [0, 13, 1000] {
            assert_eq!(
                record(write.clone(), error(code)),
                Completion::Info(put.clone())
            );
        }
        assert_eq!(
            record(cas, json!({"type": "cas_ok"})),
            Completion::Ok(Op::Cas {
                key: 3,
                from: Some(1),
                to: 2
            })
        );
        assert_eq!(
            record(write, json!({"type": "write_ok"})),
            Completion::Ok(put)
        );
    }
}
