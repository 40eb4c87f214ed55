//! Checks a generated 10,000-operation, 10-client, 10-key linearizable history and prints the
//! time; the target is under one second (Porcupine-class speed).
//!
//!   cargo bench --bench linearizability

use clustersim::check::{check_linearizable_history, LinResult};
use clustersim::history::{History, Op};
use clustersim::node::NodeId;
use clustersim::time::SimTime;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// A history of `ops` operations by `clients` clients on `keys` registers, each taking effect at
/// a random instant inside its call; about 1% of writes time out (info).
fn generate(ops: usize, clients: u32, keys: u64, seed: u64) -> History {
    enum Ev {
        Invoke(u32, Op),
        Effect(u32),
        Return(u32),
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut events: Vec<(u64, u64, Ev)> = Vec::new();
    let per_client = ops / clients as usize;
    let mut seq = 0u64;
    let mut value = 0u64;
    for c in 0..clients {
        let mut t = rng.random_range(0..100u64);
        for _ in 0..per_client {
            let key = rng.random_range(0..keys);
            let op = if rng.random_bool(0.5) {
                Op::Get { key, value: None }
            } else {
                value += 1;
                Op::Put { key, value }
            };
            let effect = t + rng.random_range(1..50u64);
            let ret = effect + rng.random_range(1..50u64);
            for (time, ev) in [
                (t, Ev::Invoke(c, op)),
                (effect, Ev::Effect(c)),
                (ret, Ev::Return(c)),
            ] {
                seq += 1;
                events.push((time, seq, ev));
            }
            t = ret + rng.random_range(1..20u64);
        }
    }
    events.sort_by_key(|(t, s, _)| (*t, *s));
    let mut h = History::new();
    let mut state: BTreeMap<u64, u64> = BTreeMap::new();
    let mut open: BTreeMap<u32, (clustersim::history::OpId, Op, bool)> = BTreeMap::new();
    for (t, _, ev) in events {
        match ev {
            Ev::Invoke(c, op) => {
                let id = h.invoke(SimTime(t), NodeId(c), op.clone());
                open.insert(c, (id, op, false));
            }
            Ev::Effect(c) => {
                let (_, op, _) = open.get_mut(&c).expect("open op");
                match op {
                    Op::Put { key, value } => {
                        state.insert(*key, *value);
                    }
                    Op::Get { key, value } => *value = state.get(key).copied(),
                    _ => {}
                }
            }
            Ev::Return(c) => {
                let (id, op, _) = open.remove(&c).expect("open op");
                if matches!(op, Op::Put { .. }) && rng.random_bool(0.01) {
                    h.info(SimTime(t), NodeId(c), id, op);
                } else {
                    h.ok(SimTime(t), NodeId(c), id, op);
                }
            }
        }
    }
    h
}

fn main() {
    let history = generate(10_000, 10, 10, 7);
    let calls = history.calls().len();
    // Wall time is measured here, in the bench, never inside the library.
    let start = std::time::Instant::now();
    let result = check_linearizable_history(&history);
    let elapsed = start.elapsed();
    assert!(
        matches!(result, LinResult::Linearizable { .. }),
        "generated history must be linearizable: {result:?}"
    );
    println!(
        "linearizability: {calls} ops, 10 clients, 10 keys checked in {:.1} ms ({result:?})",
        elapsed.as_secs_f64() * 1e3
    );

    // The same history with one late read turned stale: the search must fail and then find
    // the smallest window, which costs a few more searches.
    let bad = with_stale_read(&history);
    let start = std::time::Instant::now();
    let result = check_linearizable_history(&bad);
    let elapsed = start.elapsed();
    let LinResult::NotLinearizable { key, window } = &result else {
        panic!("a stale read must be caught: {result:?}");
    };
    println!(
        "linearizability: same history with one stale read refuted in {:.1} ms (key k{key}, window of {} ops)",
        elapsed.as_secs_f64() * 1e3,
        window.len()
    );
}

/// Rebuilds `h` with the last successful read of a key that was written twice before it
/// returning the first of those values instead.
fn with_stale_read(h: &History) -> History {
    let entries = h.entries();
    let mut first_write: BTreeMap<u64, u64> = BTreeMap::new();
    let mut target = None;
    for e in entries {
        match (&e.phase, &e.op) {
            (clustersim::history::Phase::Ok, Op::Put { key, value }) => {
                first_write.entry(*key).or_insert(*value);
            }
            (
                clustersim::history::Phase::Ok,
                Op::Get {
                    key,
                    value: Some(v),
                },
            ) if first_write.get(key).is_some_and(|f| f != v) => {
                target = Some((e.index, *key, first_write[key]));
            }
            _ => {}
        }
    }
    let (index, key, old) = target.expect("some read saw a later write");
    let mut out = History::new();
    let mut ids = BTreeMap::new();
    for e in entries {
        let op = if e.index == index {
            Op::Get {
                key,
                value: Some(old),
            }
        } else {
            e.op.clone()
        };
        match e.phase {
            clustersim::history::Phase::Invoke => {
                ids.insert(e.op_id, out.invoke(e.time, e.node, op));
            }
            clustersim::history::Phase::Ok => out.ok(e.time, e.node, ids[&e.op_id], op),
            clustersim::history::Phase::Info => out.info(e.time, e.node, ids[&e.op_id], op),
            clustersim::history::Phase::Fail => out.fail(e.time, e.node, ids[&e.op_id], op),
            clustersim::history::Phase::Event => out.event(e.time, e.node, op),
        }
    }
    out
}
