//! `KafkaLog`: Maelstrom's kafka workload judged from the clients' calls. Per key, offsets are
//! unique (one message per offset, in sends and polls alike); a poll's offsets rise and start
//! at or after the offset asked for; an acknowledged send is never lost (a poll invoked after
//! the send's offset `o` was acknowledged, starting at or before `o` and returning an offset
//! past it, must return `o` with that message); sends are not reordered (a send acknowledged
//! before another was invoked has the smaller offset); committed offsets never go backwards
//! (a `list_committed_offsets` invoked after another completed, or after a `commit_offsets`
//! was acknowledged, returns at least what those did).

use super::{calls, MCall};
use crate::check::Verdict;
use crate::history::Phase;
use crate::protocol::{Check, Property};
use crate::sim::RunOutcome;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Maelstrom's kafka workload: no duplicate, lost or reordered offsets, no committed offset
/// going back.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct KafkaLog;

/// An acknowledged send.
struct Sent<'a> {
    key: String,
    offset: u64,
    msg: &'a Value,
    call: &'a MCall,
}

/// One key's `[offset, message]` pairs in an ok poll.
struct Polled<'a> {
    key: String,
    from: Option<u64>,
    pairs: Vec<(u64, &'a Value)>,
    call: &'a MCall,
}

/// The offsets of a map of keys to offsets (`commit_offsets`, `list_committed_offsets_ok`).
fn offsets(v: Option<&Value>) -> BTreeMap<String, u64> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, o)| Some((k.clone(), o.as_u64()?)))
                .collect()
        })
        .unwrap_or_default()
}

fn who(outcome: &RunOutcome, c: &MCall) -> String {
    format!(
        "{} asking {} at {}",
        outcome.roster.name(c.client),
        c.node,
        c.invoked
    )
}

impl Check for KafkaLog {
    const NAME: &'static str = "KafkaLog";

    fn property(&self) -> Property {
        Property::Safety
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        let all = calls(outcome);
        let ok = |name: &'static str| {
            all.iter()
                .filter(move |c| c.name == name && c.outcome == Phase::Ok)
        };
        let fail = |text: String, culprits: Vec<&MCall>| {
            Verdict::fail(Self::NAME, text)
                .culprits(outcome, culprits.iter().map(|c| c.index).collect())
        };
        let null = Value::Null;

        // Acknowledged sends: one message per offset of a key.
        let mut sends: Vec<Sent> = Vec::new();
        for c in ok("send") {
            let key = c.request.get("key").and_then(Value::as_str);
            let offset = c.reply.get("offset").and_then(Value::as_u64);
            let (Some(key), Some(offset)) = (key, offset) else {
                return fail(
                    format!(
                        "{} answered a send without an integer offset: {}",
                        c.node, c.reply
                    ),
                    vec![c],
                );
            };
            let msg = c.request.get("msg").unwrap_or(&null);
            sends.push(Sent {
                key: key.to_string(),
                offset,
                msg,
                call: c,
            });
        }
        if sends.is_empty() {
            return Verdict::unknown(Self::NAME, "no send was acknowledged; nothing to judge");
        }
        let mut at: BTreeMap<(String, u64), (&Value, &MCall)> = BTreeMap::new();
        for s in &sends {
            if let Some((msg, first)) = at.get(&(s.key.clone(), s.offset)) {
                return fail(
                    format!(
                        "offset {} of key {} was given to two messages: {msg} and {}",
                        s.offset, s.key, s.msg
                    ),
                    vec![first, s.call],
                )
                .detail(format!("sent by {}", who(outcome, first)))
                .detail(format!("sent by {}", who(outcome, s.call)));
            }
            at.insert((s.key.clone(), s.offset), (s.msg, s.call));
        }

        // Sends are not reordered: one acknowledged before another began has the lower offset.
        for a in &sends {
            let Some(done) = a.call.completed else {
                continue;
            };
            if let Some(b) = sends
                .iter()
                .find(|b| b.key == a.key && b.call.invoked > done && b.offset <= a.offset)
            {
                return fail(
                    format!(
                        "sends to key {} reordered: {} got offset {} at {done}, then {} (sent \
                         after) got offset {}",
                        a.key, a.msg, a.offset, b.msg, b.offset
                    ),
                    vec![a.call, b.call],
                );
            }
        }

        // Polls: rising offsets from the one asked for, each holding the message sent there.
        let mut polls: Vec<Polled> = Vec::new();
        for c in ok("poll") {
            let asked = offsets(c.request.get("offsets"));
            let Some(msgs) = c.reply.get("msgs").and_then(Value::as_object) else {
                return fail(
                    format!(
                        "{} answered a poll without a `msgs` map: {}",
                        c.node, c.reply
                    ),
                    vec![c],
                );
            };
            for (key, list) in msgs {
                let pairs: Option<Vec<(u64, &Value)>> = list.as_array().and_then(|l| {
                    l.iter()
                        .map(|p| Some((p.get(0)?.as_u64()?, p.get(1)?)))
                        .collect()
                });
                let Some(pairs) = pairs else {
                    return fail(
                        format!(
                            "{} answered a poll of key {key} with something other than \
                             [offset, message] pairs: {list}",
                            c.node
                        ),
                        vec![c],
                    );
                };
                polls.push(Polled {
                    key: key.clone(),
                    from: asked.get(key).copied(),
                    pairs,
                    call: c,
                });
            }
        }
        let mut seen: BTreeMap<(String, u64), (&Value, &MCall)> = BTreeMap::new();
        for p in &polls {
            if let Some(w) = p.pairs.windows(2).find(|w| w[1].0 <= w[0].0) {
                return fail(
                    format!(
                        "a poll of key {} returned offset {} after {}: offsets must rise",
                        p.key, w[1].0, w[0].0
                    ),
                    vec![p.call],
                )
                .detail(format!("polled by {}", who(outcome, p.call)));
            }
            if let (Some(from), Some(first)) = (p.from, p.pairs.first()) {
                if first.0 < from {
                    return fail(
                        format!(
                            "a poll of key {} from offset {from} returned offset {} first",
                            p.key, first.0
                        ),
                        vec![p.call],
                    );
                }
            }
            for &(offset, msg) in &p.pairs {
                let slot = (p.key.clone(), offset);
                if let Some((sent, by)) = at.get(&slot).filter(|(m, _)| *m != msg) {
                    return fail(
                        format!(
                            "offset {offset} of key {} holds {msg} in a poll, but the send of \
                             {sent} was acknowledged with that offset",
                            p.key
                        ),
                        vec![by, p.call],
                    );
                }
                if let Some((other, by)) = seen.get(&slot).filter(|(m, _)| *m != msg) {
                    return fail(
                        format!(
                            "offset {offset} of key {} held {other} in one poll and {msg} in \
                             another",
                            p.key
                        ),
                        vec![by, p.call],
                    );
                }
                seen.insert(slot, (msg, p.call));
            }
        }

        // No acknowledged send lost: a later poll that spans its offset returns it.
        for s in &sends {
            let Some(done) = s.call.completed else {
                continue;
            };
            let lost = polls.iter().find(|p| {
                p.key == s.key
                    && p.call.invoked > done
                    && p.from.is_some_and(|f| f <= s.offset)
                    && p.pairs.last().is_some_and(|l| l.0 > s.offset)
                    && !p.pairs.iter().any(|q| q.0 == s.offset)
            });
            if let Some(p) = lost {
                let shown: Vec<u64> = p.pairs.iter().map(|q| q.0).collect();
                return fail(
                    format!(
                        "the send of {} to key {} was acknowledged with offset {} at {done}, \
                         but a later poll from offset {} skipped it (offsets {shown:?})",
                        s.msg,
                        s.key,
                        s.offset,
                        p.from.unwrap_or(0)
                    ),
                    vec![s.call, p.call],
                )
                .detail(format!("sent by {}", who(outcome, s.call)))
                .detail(format!("polled by {}", who(outcome, p.call)));
            }
        }

        // Committed offsets never go backwards.
        let commits: Vec<(BTreeMap<String, u64>, &MCall)> = ok("commit_offsets")
            .map(|c| (offsets(c.request.get("offsets")), c))
            .collect();
        let lists: Vec<(BTreeMap<String, u64>, &MCall)> = ok("list_committed_offsets")
            .map(|c| (offsets(c.reply.get("offsets")), c))
            .collect();
        let earlier = commits
            .iter()
            .map(|(m, c)| (m, *c, "committed"))
            .chain(lists.iter().map(|(m, c)| (m, *c, "listed as committed")));
        for (before, b, what) in earlier {
            let Some(done) = b.completed else {
                continue;
            };
            for (after, a) in lists.iter().filter(|(_, a)| a.invoked > done) {
                let asked = a.request.get("keys").and_then(Value::as_array);
                for (key, o) in before {
                    let asked_for = asked.is_none_or(|ks| ks.iter().any(|k| k == key));
                    let now = after.get(key);
                    if asked_for && now.is_none_or(|n| n < o) {
                        let shown = now.map_or("nothing".to_string(), u64::to_string);
                        return fail(
                            format!(
                                "the committed offset of key {key} went back: {o} was {what} \
                                 by {done}, then a later list_committed_offsets returned {shown}"
                            ),
                            vec![b, a],
                        );
                    }
                }
            }
        }

        let keys: std::collections::BTreeSet<&str> = sends.iter().map(|s| s.key.as_str()).collect();
        Verdict::pass(
            Self::NAME,
            format!(
                "{} sends acknowledged on {} keys, {} polls, {} commits: offsets unique and in \
                 order, none lost, committed offsets never went back",
                sends.len(),
                keys.len(),
                polls
                    .iter()
                    .map(|p| p.call.index)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len(),
                commits.len()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;
    use crate::history::{History, Op};
    use crate::node::{NodeId, Roster};
    use crate::sim::RunOutcome;
    use crate::time::SimTime;
    use serde_json::json;

    /// A history of (client, invoked ms, completed ms, name, request body, reply body) calls.
    fn judge(calls: &[(u32, u64, u64, &str, Value, Value)]) -> Verdict {
        let mut h = History::new();
        let ms = |t: u64| SimTime(t * 1_000_000);
        let mut events: Vec<(u64, usize, bool)> = Vec::new();
        for (i, c) in calls.iter().enumerate() {
            events.push((c.1, i, false));
            events.push((c.2, i, true));
        }
        events.sort();
        let mut ids = vec![None; calls.len()];
        for (t, i, done) in events {
            let (client, _, _, name, request, reply) = &calls[i];
            let node = NodeId(*client);
            if done {
                let op = Op::custom(name, &json!({"node": "n1", "body": reply}));
                h.ok(ms(t), node, ids[i].unwrap(), op);
            } else {
                let op = Op::custom(name, &json!({"node": "n1", "body": request}));
                ids[i] = Some(h.invoke(ms(t), node, op));
            }
        }
        let roster = Roster::new([("c1".into(), "c".into()), ("c2".into(), "c".into())]);
        KafkaLog.evaluate(&RunOutcome::from_history(roster, ms(1000), h))
    }

    fn send(
        c: u32,
        at: u64,
        key: &str,
        msg: u64,
        offset: u64,
    ) -> (u32, u64, u64, &'static str, Value, Value) {
        (
            c,
            at,
            at + 1,
            "send",
            json!({"type": "send", "key": key, "msg": msg}),
            json!({"type": "send_ok", "offset": offset}),
        )
    }

    fn poll(
        c: u32,
        at: u64,
        key: &str,
        from: u64,
        pairs: Value,
    ) -> (u32, u64, u64, &'static str, Value, Value) {
        (
            c,
            at,
            at + 1,
            "poll",
            json!({"type": "poll", "offsets": {key: from}}),
            json!({"type": "poll_ok", "msgs": {key: pairs}}),
        )
    }

    fn list(
        c: u32,
        at: u64,
        key: &str,
        offset: u64,
    ) -> (u32, u64, u64, &'static str, Value, Value) {
        (
            c,
            at,
            at + 1,
            "list_committed_offsets",
            json!({"type": "list_committed_offsets", "keys": [key]}),
            json!({"type": "list_committed_offsets_ok", "offsets": {key: offset}}),
        )
    }

    fn commit(
        c: u32,
        at: u64,
        key: &str,
        offset: u64,
    ) -> (u32, u64, u64, &'static str, Value, Value) {
        (
            c,
            at,
            at + 1,
            "commit_offsets",
            json!({"type": "commit_offsets", "offsets": {key: offset}}),
            json!({"type": "commit_offsets_ok"}),
        )
    }

    #[test]
    fn a_correct_log_passes() {
        let v = judge(&[
            send(0, 0, "a", 10, 0),
            send(1, 2, "a", 11, 1),
            poll(0, 4, "a", 0, json!([[0, 10], [1, 11]])),
            commit(0, 6, "a", 1),
            list(1, 8, "a", 1),
            send(1, 10, "a", 12, 5),
            poll(1, 12, "a", 2, json!([[5, 12]])),
        ]);
        assert_eq!(v.status, Status::Pass, "{v:?}");
    }

    #[test]
    fn one_offset_for_two_messages_fails() {
        let v = judge(&[send(0, 0, "a", 10, 0), send(1, 0, "a", 11, 0)]);
        assert!(!v.passed());
        assert!(
            v.summary
                .contains("offset 0 of key a was given to two messages"),
            "{v:?}"
        );
    }

    #[test]
    fn a_lost_acknowledged_send_fails() {
        let v = judge(&[
            send(0, 0, "a", 10, 0),
            send(0, 2, "a", 11, 1),
            poll(1, 4, "a", 0, json!([[1, 11]])),
        ]);
        assert!(!v.passed());
        assert!(v.summary.contains("skipped it"), "{v:?}");
    }

    #[test]
    fn reordered_sends_fail() {
        let v = judge(&[send(0, 0, "a", 10, 3), send(1, 2, "a", 11, 2)]);
        assert!(!v.passed());
        assert!(v.summary.contains("reordered"), "{v:?}");
    }

    #[test]
    fn a_poll_holding_another_message_fails() {
        let v = judge(&[send(0, 0, "a", 10, 0), poll(1, 4, "a", 0, json!([[0, 99]]))]);
        assert!(!v.passed());
        assert!(v.summary.contains("holds 99 in a poll"), "{v:?}");
    }

    #[test]
    fn offsets_falling_within_a_poll_fail() {
        let v = judge(&[
            send(0, 0, "a", 10, 0),
            send(0, 2, "a", 11, 1),
            poll(1, 4, "a", 0, json!([[1, 11], [0, 10]])),
        ]);
        assert!(!v.passed());
        assert!(v.summary.contains("offsets must rise"), "{v:?}");
    }

    #[test]
    fn a_committed_offset_going_back_fails() {
        let v = judge(&[
            send(0, 0, "a", 10, 0),
            send(0, 2, "a", 11, 1),
            commit(0, 4, "a", 1),
            list(1, 8, "a", 0),
        ]);
        assert!(!v.passed());
        assert!(
            v.summary.contains("committed offset of key a went back"),
            "{v:?}"
        );
        let v = judge(&[
            send(0, 0, "a", 10, 0),
            list(0, 2, "a", 4),
            list(1, 8, "a", 3),
        ]);
        assert!(
            v.summary.contains("went back: 4 was listed as committed"),
            "{v:?}"
        );
    }

    #[test]
    fn no_acknowledged_send_is_unknown_not_a_pass() {
        let v = judge(&[poll(1, 4, "a", 0, json!([]))]);
        assert_eq!(v.status, Status::Unknown);
        assert!(v.summary.contains("nothing to judge"), "{v:?}");
    }
}
