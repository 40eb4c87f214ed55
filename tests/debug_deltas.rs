//! What the debugger's page is sent after a step: only what changed (new diagram items, the
//! nodes the step touched, pending events gone and new), and applying it to the state the page
//! holds gives exactly the whole state, through branches, faults, going back and runs to a time.

use clustersim::debug::view::{answer, state_json, Notice, Sent};
use clustersim::debug::{Action, Session};
use clustersim::registry::Registry;
use clustersim::scenario::load;
use clustersim::sim::PendingKind;
use clustersim::time::SimTime;
use serde_json::Value;
use std::path::Path;

fn open(file: &str) -> Session {
    let registry = Registry::shipped();
    let scenario = load(Path::new(file)).unwrap();
    Session::open(registry.prepare(&scenario, file).unwrap()).unwrap()
}

/// A list the page holds, brought up to date as `page.js`'s `patchList` does.
fn patch_list(list: &mut Value, d: &Value) {
    let list = list.as_array_mut().expect("a list");
    let n = d["n"].as_u64().unwrap() as usize;
    list.resize(n, Value::Null);
    for pair in d["at"].as_array().unwrap() {
        list[pair[0].as_u64().unwrap() as usize] = pair[1].clone();
    }
}

/// A delta applied to the whole state, as `page.js`'s `applyDelta` does.
fn apply(state: &mut Value, d: &Value) {
    assert_eq!(
        d["base"], state["version"],
        "the delta is against the state held"
    );
    for k in [
        "live",
        "version",
        "now",
        "stopped",
        "steps",
        "branches",
        "next",
        "verdicts",
        "message",
        "error",
        "saved",
        "saved_hash",
    ] {
        state[k] = d[k].clone();
    }
    patch_list(&mut state["nodes"], &d["nodes"]);
    patch_list(&mut state["skews"], &d["skews"]);
    let mut pending: Vec<Value> = state["pending"].as_array().unwrap().clone();
    let gone: Vec<&Value> = d["pending"]["gone"].as_array().unwrap().iter().collect();
    pending.retain(|p| !gone.contains(&&p["seq"]));
    for p in d["pending"]["put"].as_array().unwrap() {
        pending.retain(|q| q["seq"] != p["seq"]);
        pending.push(p.clone());
    }
    pending.sort_by_key(|p| (p["time"].as_u64().unwrap(), p["seq"].as_u64().unwrap()));
    state["pending"] = Value::Array(pending);
    for k in ["messages", "bands", "ops", "notes", "disk"] {
        patch_list(&mut state["scene"][k], &d["scene"][k]);
    }
    for k in ["failures", "focus", "end"] {
        state["scene"][k] = d["scene"][k].clone();
    }
    if let Some(f) = d.get("figures") {
        state["figures"] = f.clone();
    }
    if let Some(t) = d.get("tree") {
        state["tree"] = t.clone();
    }
}

/// Where two JSON values first differ (a path and both sides, cut short), if they do.
fn difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                difference(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &format!("{path}.{k}"),
                )
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| difference(p, q, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => {
            let short = |v: &Value| v.to_string().chars().take(300).collect::<String>();
            Some(format!("{path}: page {} / whole {}", short(a), short(b)))
        }
    }
}

/// Acts, answers as the server does (a delta against the state the page holds), applies the
/// delta, and holds the result to the whole state; returns the delta's and the whole state's
/// sizes.
fn step(
    s: &mut Session,
    action: &Action,
    page: &mut Value,
    sent: &mut Sent,
    notice: &mut Notice,
) -> (usize, usize) {
    let have = page["version"].as_u64();
    notice.version += 1;
    // A refusal is told to the page, as the server does.
    match s.act(action) {
        Ok(()) => (notice.message.clear(), notice.error = false),
        Err(e) => (notice.message = e, notice.error = true),
    };
    let text = answer(s, notice, sent, have);
    let d: Value = serde_json::from_str(&text).unwrap();
    assert!(
        d.get("full").is_none(),
        "{action:?}: a delta, not the whole state"
    );
    apply(page, &d);
    let whole_text = state_json(s, notice);
    let mut whole: Value = serde_json::from_str(&whole_text).unwrap();
    whole.as_object_mut().unwrap().remove("full");
    if let Some(at) = difference(page, &whole, "") {
        panic!("{action:?}: the page's state after the delta differs at {at}");
    }
    (text.len(), whole_text.len())
}

#[test]
fn applying_each_steps_delta_gives_the_whole_state() {
    for file in [
        "scenarios/worker-crash-naive.ron",
        "scenarios/raft-leader-crash.ron",
        "scenarios/kv-quorum-311.ron",
    ] {
        let mut s = open(file);
        let mut notice = Notice::default();
        let mut sent = Sent::new();
        notice.version += 1;
        let mut page: Value = serde_json::from_str(&answer(&s, &notice, &mut sent, None)).unwrap();
        assert_eq!(page["full"], Value::Bool(true));
        page.as_object_mut().unwrap().remove("full");
        let (p, n) = (&mut page, &mut notice);
        for _ in 0..40 {
            step(&mut s, &Action::Next, p, &mut sent, n);
        }
        step(&mut s, &Action::To(SimTime(300_000_000)), p, &mut sent, n);
        let late = s
            .sim()
            .pending()
            .iter()
            .rfind(|e| e.kind == PendingKind::Message)
            .map(|e| e.seq);
        if let Some(late) = late {
            step(&mut s, &Action::Run(late), p, &mut sent, n);
        }
        let victim = s.sim().roster().ids().next().unwrap();
        step(&mut s, &Action::Crash(victim), p, &mut sent, n);
        for _ in 0..10 {
            step(&mut s, &Action::Next, p, &mut sent, n);
        }
        step(&mut s, &Action::StepBack, p, &mut sent, n);
        step(&mut s, &Action::Back, p, &mut sent, n);
        step(&mut s, &Action::Restart(victim), p, &mut sent, n);
        step(&mut s, &Action::Heal, p, &mut sent, n);
        step(&mut s, &Action::Failure, p, &mut sent, n);
        step(&mut s, &Action::StepBack, p, &mut sent, n);
    }
}

#[test]
fn a_page_holding_another_state_is_sent_the_whole_state() {
    let mut s = open("scenarios/worker-crash-naive.ron");
    let mut notice = Notice::default();
    let mut sent = Sent::new();
    notice.version = 1;
    answer(&s, &notice, &mut sent, None);
    s.act(&Action::Next).unwrap();
    notice.version = 2;
    // A second page (or a reload) holds version 7, which this server never sent.
    let text = answer(&s, &notice, &mut sent, Some(7));
    let d: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(d["full"], Value::Bool(true));
    assert_eq!(text, state_json(&s, &notice));
}

/// At 1,000 nodes a step used to send the whole state: 9 MB at 200 ms into `chat-1000`. Now it
/// sends what changed: a few kilobytes.
#[test]
fn a_step_at_a_thousand_nodes_sends_kilobytes() {
    let mut s = open("scenarios/chat-1000.ron");
    s.act(&Action::To(SimTime(200_000_000))).unwrap();
    let mut notice = Notice::default();
    let mut sent = Sent::new();
    notice.version = 1;
    let mut page: Value = serde_json::from_str(&answer(&s, &notice, &mut sent, None)).unwrap();
    page.as_object_mut().unwrap().remove("full");
    for _ in 0..5 {
        let (delta, whole) = step(&mut s, &Action::Next, &mut page, &mut sent, &mut notice);
        assert!(delta <= 16 * 1024, "a step sent {delta} bytes");
        assert!(whole >= 50 * delta, "whole {whole} bytes, delta {delta}");
    }
}

/// Jumps between two branches of the tree of explored states (to either branch's end, back to
/// the fork, forward along a branch) are answered with deltas too, and applying each gives
/// exactly the whole state of where the jump went; the tree sent names where the run stands.
#[test]
fn deltas_stay_exact_across_jumps_between_branches() {
    for file in [
        "scenarios/worker-crash-naive.ron",
        "scenarios/kv-quorum-311.ron",
    ] {
        let mut s = open(file);
        let mut notice = Notice::default();
        let mut sent = Sent::new();
        notice.version += 1;
        let mut page: Value = serde_json::from_str(&answer(&s, &notice, &mut sent, None)).unwrap();
        page.as_object_mut().unwrap().remove("full");
        let (p, n) = (&mut page, &mut notice);
        step(&mut s, &Action::To(SimTime(150_000_000)), p, &mut sent, n);
        let fork = s.at();
        for _ in 0..6 {
            step(&mut s, &Action::Next, p, &mut sent, n);
        }
        let a = s.at();
        step(&mut s, &Action::Goto(fork), p, &mut sent, n);
        let late = s
            .sim()
            .pending()
            .iter()
            .rfind(|e| e.node.is_some() && Some(e.seq) != s.sim().time_order_choice().map(|c| c.0))
            .map(|e| e.seq)
            .expect("an event out of turn");
        step(&mut s, &Action::Run(late), p, &mut sent, n);
        for _ in 0..6 {
            step(&mut s, &Action::Next, p, &mut sent, n);
        }
        let b = s.at();
        assert_eq!(s.children(fork).len(), 2, "{file}");
        for (action, at) in [
            (Action::Goto(a), a),
            (Action::Goto(b), b),
            (Action::Goto(fork), fork),
            (Action::Forward, s.children(fork)[1]),
            (Action::Goto(a), a),
            (Action::StepBack, s.parent(a).unwrap()),
            (Action::Forward, a),
            // Undo: back to where the last jump was taken.
            (Action::Back, s.children(fork)[1]),
        ] {
            step(&mut s, &action, p, &mut sent, n);
            assert_eq!(s.at(), at, "{file}: {action:?}");
            assert_eq!(
                p["tree"]["at"], at,
                "{file}: the page's tree stands at #{at}"
            );
        }
    }
}
