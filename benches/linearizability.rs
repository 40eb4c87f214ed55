//! Checks a generated 10,000-operation, 10-client, 10-key history, linearizable and with one
//! stale read (the verdict and the smallest window timed apart, through the same path as
//! `check-history`), and a 1,000-operation list-append history; prints the times. The target
//! is under one second for each (Porcupine-class speed). Then reading: a 100,000-operation
//! Jepsen EDN history written one operation per line (`history.edn`), and Porcupine's etcd logs
//! in `tests/histories/porcupine/`, each parsed and checked, with parse time over check time;
//! the 100,000-operation parse must take under a second.
//!
//!   cargo bench --bench linearizability

use clustersim::check::{check_linearizable_history, LinResult};
use clustersim::history::{History, Op};
use clustersim::lin::formats::{read, Format};
use clustersim::lin::models::{ListAppend, RegisterModel};
use clustersim::lin::Model;
use clustersim::lin::{check_partitions, partitions, Interner, Operation, Outcome};
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
    let LinResult::NotLinearizable { key, window, .. } = &result else {
        panic!("a stale read must be caught: {result:?}");
    };
    println!(
        "linearizability: same history with one stale read refuted in {:.1} ms (key k{key}, window of {} ops)",
        elapsed.as_secs_f64() * 1e3,
        window.len()
    );

    // The check-history path: the history as a .jsonl file's text, read back, the verdict
    // first and the window after, each timed.
    for (name, h) in [("linearizable", &history), ("one stale read", &bad)] {
        let names: Vec<String> = (0..10).map(|c| format!("c{c}")).collect();
        let text: String = h.entries().map(|e| e.to_json(&names) + "\n").collect();
        let start = std::time::Instant::now();
        let ops = read(&text, Format::Clustersim).expect("own history");
        let parse = start.elapsed();
        let model = RegisterModel::kv(None);
        let start = std::time::Instant::now();
        let mut ids = Interner::default();
        let parts = partitions(&model, &ops, &mut ids).expect("kv operations");
        let checked = check_partitions(&model, parts, clustersim::lin::DEFAULT_MAX_STEPS);
        let verdict = start.elapsed();
        let start = std::time::Instant::now();
        let window = checked.window(&model, clustersim::lin::DEFAULT_WINDOW_STEPS);
        let window_time = start.elapsed();
        println!(
            "check-history ({name}): {} ops parsed in {:.1} ms, verdict {} in {:.1} ms ({} steps), window of {} ops in {:.1} ms",
            ops.len(),
            parse.as_secs_f64() * 1e3,
            if checked.linearizable() { "linearizable" } else { "NOT linearizable" },
            verdict.as_secs_f64() * 1e3,
            checked.steps,
            window.len(),
            window_time.as_secs_f64() * 1e3
        );
    }

    reading();
    porcupine_comparison();

    let appends = list_append_history(1_000, 10, 5, 11);
    let start = std::time::Instant::now();
    let mut ids = Interner::default();
    let parts = partitions(&ListAppend, &appends, &mut ids).expect("list-append operations");
    let checked = check_partitions(&ListAppend, parts, clustersim::lin::DEFAULT_MAX_STEPS);
    let elapsed = start.elapsed();
    assert!(
        checked.linearizable(),
        "generated list-append history must be linearizable"
    );
    println!(
        "list-append: {} ops, 10 clients, 5 keys checked in {:.1} ms ({} steps)",
        appends.len(),
        elapsed.as_secs_f64() * 1e3,
        checked.steps
    );
}

/// Parse time against check time for a 100,000-operation one-per-line EDN history and for
/// Porcupine's etcd logs (one row each, and the ratio).
fn reading() {
    let edn = edn_history(100_000, 10, 100, 13);
    let (parse, check, ops, verdict) = parse_and_check(&edn, Format::Edn, &RegisterModel::kv(None));
    println!(
        "reading: {ops} ops of one-per-line EDN ({:.1} MiB) parsed in {:.1} ms, checked ({verdict}) in {:.1} ms: parse/check {:.2}",
        edn.len() as f64 / (1024.0 * 1024.0),
        parse * 1e3,
        check * 1e3,
        parse / check
    );
    assert!(
        parse < 1.0,
        "100,000 EDN operations must parse in under a second: {parse:.2} s"
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/histories/porcupine");
    for name in ["etcd_000.log", "etcd_100.log"] {
        let text = std::fs::read_to_string(dir.join(name)).expect("Porcupine's etcd log");
        let model = RegisterModel::cas_register(None);
        let (parse, check, ops, verdict) = parse_and_check(&text, Format::JepsenLog, &model);
        let window = if verdict == "NOT linearizable" {
            let all = read(&text, Format::JepsenLog).expect("a log");
            let mut ids = Interner::default();
            let parts = partitions(&model, &all, &mut ids).expect("cas-register operations");
            let checked =
                check_partitions(&model, parts.clone(), clustersim::lin::DEFAULT_MAX_STEPS);
            let part = &parts[checked.failing_key().expect("a failing key")];
            let mut row = String::new();
            for (what, steps) in [
                ("unbounded", clustersim::lin::DEFAULT_WINDOW_STEPS),
                (
                    "half the verdict's steps",
                    clustersim::lin::window_budget(checked.steps),
                ),
            ] {
                // Fractions of a millisecond: the least of 20 runs.
                let mut took = f64::MAX;
                let mut w = None;
                for _ in 0..20 {
                    let start = std::time::Instant::now();
                    w = Some(clustersim::lin::search::failing_window_after(
                        &model,
                        part,
                        checked.frontier(),
                        steps,
                        u64::MAX,
                    ));
                    took = took.min(start.elapsed().as_secs_f64());
                }
                let w = w.expect("ran");
                row.push_str(&format!(
                    "; window {what}: {} ops{} in {:.2} ms (window/verdict {:.2})",
                    w.ops.len(),
                    if w.smallest { " (smallest)" } else { "" },
                    took * 1e3,
                    took / check
                ));
            }
            row
        } else {
            String::new()
        };
        println!(
            "reading: {name}: {ops} ops parsed in {:.2} ms, checked ({verdict}) in {:.2} ms: parse/check {:.2}{window}",
            parse * 1e3,
            check * 1e3,
            parse / check
        );
    }
}

/// With `PORCUPINE_DIR` (Porcupine's `test_data/jepsen`) and `PORCUPINE_TIMES` (a table of
/// `log, linearizable, parse ms, check ms` from Porcupine's own Go run, best of 5): every etcd
/// log's verdict and failing window here against Porcupine's verdict there, for window floors
/// of 0, 1,000 and 10,000 steps.
fn porcupine_comparison() {
    let (Ok(dir), Ok(times)) = (
        std::env::var("PORCUPINE_DIR"),
        std::env::var("PORCUPINE_TIMES"),
    ) else {
        println!("porcupine: set PORCUPINE_DIR and PORCUPINE_TIMES to compare every etcd log");
        return;
    };
    let times = std::fs::read_to_string(times).expect("Porcupine's times");
    let floors = [0u64, 1_000, 10_000];
    // 0 stands for the default budget (`lin::window_budget`: half the verdict's steps).
    // (logs, Porcupine's check ms, our verdict ms, our window ms per floor, logs slower per floor)
    let mut not_lin = (0usize, 0.0f64, 0.0f64, [0.0f64; 3], [0usize; 3]);
    let mut lin = (0usize, 0.0f64, 0.0f64, 0usize);
    for row in times.lines() {
        let f: Vec<&str> = row.split('\t').collect();
        let (name, theirs) = (f[0], f[3].parse::<f64>().expect("ms"));
        let text = std::fs::read_to_string(format!("{dir}/etcd_{name}.log")).expect("a log");
        let model = RegisterModel::cas_register(None);
        let all = read(&text, Format::JepsenLog).expect("a log");
        let best = |f: &mut dyn FnMut()| {
            let mut took = f64::MAX;
            for _ in 0..5 {
                let start = std::time::Instant::now();
                f();
                took = took.min(start.elapsed().as_secs_f64() * 1e3);
            }
            took
        };
        let mut checked = None;
        let verdict = best(&mut || {
            let mut ids = Interner::default();
            let parts = partitions(&model, &all, &mut ids).expect("cas-register operations");
            checked = Some((
                check_partitions(&model, parts.clone(), clustersim::lin::DEFAULT_MAX_STEPS),
                parts,
            ));
        });
        let (checked, parts) = checked.expect("ran");
        assert_eq!(checked.linearizable(), f[1] == "true", "etcd_{name}");
        if checked.linearizable() {
            lin.0 += 1;
            lin.1 += theirs;
            lin.2 += verdict;
            lin.3 += usize::from(verdict > theirs);
            continue;
        }
        not_lin.0 += 1;
        not_lin.1 += theirs;
        not_lin.2 += verdict;
        let part = &parts[checked.failing_key().expect("a failing key")];
        for (k, floor) in floors.iter().enumerate() {
            let steps = if *floor == 0 {
                clustersim::lin::window_budget(checked.steps)
            } else {
                checked.steps.max(*floor)
            };
            let frontier = checked.frontier();
            let window = best(&mut || {
                clustersim::lin::search::failing_window_after(
                    &model,
                    part,
                    frontier,
                    steps,
                    u64::MAX,
                );
            });
            not_lin.3[k] += window;
            not_lin.4[k] += usize::from(verdict + window > theirs);
            if k == 0 && verdict + window > theirs {
                println!(
                    "porcupine: etcd_{name}: here {verdict:.3} + {window:.3} ms, Porcupine {theirs:.3} ms"
                );
            }
        }
    }
    println!(
        "porcupine: {} linearizable etcd logs: Porcupine {:.1} ms, here {:.1} ms (ratio {:.2}); {} logs slower here",
        lin.0, lin.1, lin.2, lin.2 / lin.1, lin.3
    );
    for (k, floor) in floors.iter().enumerate() {
        println!(
            "porcupine: {} NOT linearizable logs, window budget {}: Porcupine's verdicts {:.1} ms; here verdicts {:.1} ms + windows {:.1} ms (ratio {:.2}); {} logs where verdict and window took longer than Porcupine's verdict",
            not_lin.0,
            if *floor == 0 {
                "half the verdict's steps (the default)".to_string()
            } else {
                format!("the verdict's steps, at least {floor}")
            },
            not_lin.1,
            not_lin.2,
            not_lin.3[k],
            (not_lin.2 + not_lin.3[k]) / not_lin.1,
            not_lin.4[k]
        );
    }
}

/// Seconds to read `text` and to check it against `model`, the operations read, the verdict.
fn parse_and_check<M: Model>(
    text: &str,
    format: Format,
    model: &M,
) -> (f64, f64, usize, &'static str) {
    // Small files take fractions of a millisecond: the least of a few runs of each.
    let runs = if text.len() < 1 << 20 { 20 } else { 1 };
    let (mut parse, mut check) = (f64::MAX, f64::MAX);
    let (mut ops, mut checked) = (Vec::new(), None);
    for _ in 0..runs {
        let start = std::time::Instant::now();
        ops = read(text, format).expect("a well-formed history");
        parse = parse.min(start.elapsed().as_secs_f64());
        let start = std::time::Instant::now();
        let mut ids = Interner::default();
        let parts = partitions(model, &ops, &mut ids).expect("the model reads every operation");
        checked = Some(check_partitions(
            model,
            parts,
            clustersim::lin::DEFAULT_MAX_STEPS,
        ));
        check = check.min(start.elapsed().as_secs_f64());
    }
    let checked = checked.expect("ran");
    let verdict = match (checked.linearizable(), checked.failing_key()) {
        (true, _) => "linearizable",
        (false, Some(_)) => "NOT linearizable",
        (false, None) => "undecided",
    };
    (parse, check, ops.len(), verdict)
}

/// A Jepsen `history.edn`: one operation map per line, `clients` clients writing and reading
/// `keys` independent registers (`:value [key value]`), each call taking effect inside it.
fn edn_history(ops: usize, clients: u32, keys: u64, seed: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut registers: BTreeMap<u64, u64> = BTreeMap::new();
    let mut out = String::with_capacity(ops * 160);
    let mut index = 0;
    let mut line = |out: &mut String, p: u32, kind: &str, f: &str, value: String| {
        out.push_str(&format!(
            "{{:index {index}, :time {}, :type :{kind}, :process {p}, :f :{f}, :value {value}}}\n",
            index * 1000
        ));
        index += 1;
    };
    let mut value = 0u64;
    // Clients take turns, each call completing before the next: sequential, so linearizable.
    for i in 0..ops {
        let p = (i as u32) % clients;
        let key = rng.random_range(0..keys);
        if rng.random_bool(0.5) {
            value += 1;
            registers.insert(key, value);
            line(&mut out, p, "invoke", "write", format!("[{key} {value}]"));
            line(&mut out, p, "ok", "write", format!("[{key} {value}]"));
        } else {
            let seen = registers
                .get(&key)
                .map_or("nil".to_string(), |v| v.to_string());
            line(&mut out, p, "invoke", "read", format!("[{key} nil]"));
            line(&mut out, p, "ok", "read", format!("[{key} {seen}]"));
        }
    }
    out
}

/// A list-append history: each call takes effect at a random instant inside it; reads return
/// the whole list of their key at that instant.
fn list_append_history(ops: usize, clients: u32, keys: u64, seed: u64) -> Vec<Operation> {
    use serde_json::json;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // (time, tie, client, 0 invoke / 1 effect / 2 return)
    let mut events: Vec<(u64, u64, u32, u8)> = Vec::new();
    let mut plan: Vec<(u64, bool)> = Vec::new();
    let per_client = ops / clients as usize;
    let mut tie = 0;
    for c in 0..clients {
        let mut t = rng.random_range(0..100u64);
        for _ in 0..per_client {
            let effect = t + rng.random_range(1..50u64);
            let ret = effect + rng.random_range(1..50u64);
            for (time, phase) in [(t, 0u8), (effect, 1), (ret, 2)] {
                tie += 1;
                events.push((time, tie, c, phase));
            }
            plan.push((rng.random_range(0..keys), rng.random_bool(0.5)));
            t = ret + rng.random_range(1..20u64);
        }
    }
    events.sort();
    let mut next_plan: Vec<usize> = (0..clients as usize).map(|c| c * per_client).collect();
    let mut lists: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    let mut open: BTreeMap<u32, usize> = BTreeMap::new();
    let mut out: Vec<Operation> = Vec::new();
    let mut value = 0u64;
    for (pos, (_, _, c, phase)) in events.into_iter().enumerate() {
        match phase {
            0 => {
                let (key, append) = plan[next_plan[c as usize]];
                next_plan[c as usize] += 1;
                value += 1;
                open.insert(c, out.len());
                out.push(Operation {
                    process: c.to_string(),
                    f: if append { "append" } else { "read" }.into(),
                    key: Some(json!(key)),
                    value: if append { json!(value) } else { json!(null) },
                    result: None,
                    outcome: Outcome::Ok,
                    call: pos,
                    ret: None,
                    line: pos + 1,
                    col: 1,
                });
            }
            1 => {
                let op = &mut out[open[&c]];
                let key = op.key.as_ref().and_then(|k| k.as_u64()).unwrap_or_default();
                let list = lists.entry(key).or_default();
                if op.f == "append" {
                    list.push(op.value.as_u64().unwrap_or_default());
                } else {
                    op.result = Some(json!(list.clone()));
                }
            }
            _ => {
                let i = open.remove(&c).expect("open call");
                out[i].ret = Some(pos);
            }
        }
    }
    out
}

/// Rebuilds `h` with the last successful read of a key that was written twice before it
/// returning the first of those values instead.
fn with_stale_read(h: &History) -> History {
    let entries = || h.entries();
    let mut first_write: BTreeMap<u64, u64> = BTreeMap::new();
    let mut target = None;
    for e in entries() {
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
    for e in entries() {
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
