//! The sharded store (issue 40), held to an oracle written from the trace alone: the
//! configurations form one sequence every server takes in order; a group answers a request
//! only for a shard the configuration it is at gives it, and only once the shard's state has
//! arrived when it came from another group; a group that left received nothing afterwards.
//! The oracle must pass on the correct store and catch both planted migration bugs.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `file` (with `edit` applied to its text) at `seed` and returns its trace events and the
/// exit code.
fn trace(file: &str, edit: (&str, &str), seed: u64, name: &str) -> (Vec<Value>, Option<i32>) {
    let dir =
        std::env::temp_dir().join(format!("clustersim-shardkv-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    assert!(text.contains(edit.0), "{file}: no {}", edit.0);
    let scenario = dir.join("s.ron");
    std::fs::write(&scenario, text.replace(edit.0, edit.1)).unwrap();
    let out = dir.join("t.jsonl");
    let _ = std::fs::remove_file(&out);
    let status = Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--seed",
            &seed.to_string(),
            "--trace",
        ])
        .arg(&out)
        .output()
        .expect("runs");
    let events = std::fs::read_to_string(&out)
        .expect("trace written")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    (events, status.status.code())
}

fn text<'a>(e: &'a Value, field: &str) -> &'a str {
    e.get(field).and_then(Value::as_str).unwrap_or("")
}

/// The group number of a server named `serverN`.
fn group(node: &str) -> Option<u8> {
    node.strip_prefix("server")?.parse().ok()
}

/// `#n [a b - c]` -> (n, groups).
fn parse_config(s: &str) -> (u64, Vec<u8>) {
    let (num, rest) = s.trim_start_matches('#').split_once(' ').expect("config");
    let shards = rest
        .trim_matches(|c| c == '[' || c == ']')
        .split(' ')
        .map(|g| g.parse().unwrap_or(0))
        .collect();
    (num.parse().expect("number"), shards)
}

/// The key of a request's text: `Get { key: 3 } #12`, `Put { key: 3, value: .. } #12`.
fn key_of(msg: &str) -> Option<u64> {
    let rest = msg.split("key: ").nth(1)?;
    rest.split([',', ' ']).next()?.parse().ok()
}

fn id_of(msg: &str) -> Option<&str> {
    msg.rsplit_once(" #").map(|(_, id)| id)
}

/// Everything the oracle found wrong in one trace.
fn violations(events: &[Value]) -> Vec<String> {
    let mut bad = Vec::new();
    let mut configs: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    // Per server: its configuration and the one before it.
    let mut at: BTreeMap<String, (u64, Vec<u8>, Vec<u8>)> = BTreeMap::new();
    // (server, shard, configuration) whose state arrived.
    let mut arrived: std::collections::BTreeSet<(String, usize, u64)> = Default::default();
    // (client, request id) -> key.
    let mut keys: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut gone: std::collections::BTreeSet<String> = Default::default();
    let mut answered = 0;
    for e in events {
        let kind = text(e, "kind");
        if kind == "note" {
            let node = text(e, "node").to_string();
            let t = text(e, "text");
            if let Some(c) = t.strip_prefix("takes configuration ") {
                let (n, shards) = parse_config(c);
                if let Some(seen) = configs.get(&n) {
                    if *seen != shards {
                        bad.push(format!("configuration #{n} differs at {node}"));
                    }
                }
                configs.insert(n, shards.clone());
                let none = vec![0; shards.len()];
                let entry = at.entry(node.clone()).or_insert((0, none.clone(), none));
                if n != entry.0 + 1 {
                    bad.push(format!("{node} took #{n} after #{}", entry.0));
                }
                let prev = std::mem::take(&mut entry.2);
                *entry = (n, prev, shards);
            } else if let Some(rest) = t.strip_prefix("has shard ") {
                let (s, n) = rest.split_once(" of configuration ").expect("has shard");
                arrived.insert((node, s.parse().unwrap(), n.parse().unwrap()));
            }
        } else if kind == "fault" && text(e, "fault").contains("has left") {
            gone.insert(text(e, "fault").split(' ').next().unwrap().to_string());
        } else if kind == "deliver" && gone.contains(text(e, "to")) {
            bad.push(format!(
                "{} received a message after it left",
                text(e, "to")
            ));
        } else if kind == "send" {
            let (from, to, msg) = (text(e, "from"), text(e, "to"), text(e, "msg"));
            if from.starts_with("client") && !msg.starts_with("Ctrl") {
                if let (Some(k), Some(id)) = (key_of(msg), id_of(msg)) {
                    keys.insert((from.to_string(), id.to_string()), k);
                }
            }
            let Some(g) = group(from) else { continue };
            if !to.starts_with("client") || !msg.starts_with("Done(") {
                continue;
            }
            let Some(&key) = id_of(msg).and_then(|id| keys.get(&(to.to_string(), id.to_string())))
            else {
                continue;
            };
            answered += 1;
            let Some((n, prev, cur)) = at.get(from) else {
                bad.push(format!("{from} answered before it took a configuration"));
                continue;
            };
            let s = (key % cur.len() as u64) as usize;
            if cur[s] != g {
                bad.push(format!(
                    "{from} answered key {key} at #{n}, which gives shard {s} to group {}",
                    cur[s]
                ));
            } else if prev.get(s).is_some_and(|p| *p != 0 && *p != g)
                && !arrived.contains(&(from.to_string(), s, *n))
            {
                bad.push(format!(
                    "{from} answered key {key} of shard {s} before its state arrived at #{n}"
                ));
            }
        }
    }
    assert!(answered > 50, "too few answers compared: {answered}");
    bad
}

#[test]
fn the_correct_store_follows_every_rule_the_oracle_reads_from_the_trace() {
    let (events, code) = trace("scenarios/shardkv/moves.ron", ("", ""), 0, "moves");
    assert_eq!(code, Some(0));
    assert_eq!(violations(&events), Vec::<String>::new());
    for seed in 0..12 {
        let (events, code) = trace("scenarios/hunt/shardkv-nemesis.ron", ("", ""), seed, "hunt");
        assert_eq!(code, Some(0), "seed {seed}");
        assert_eq!(violations(&events), Vec::<String>::new(), "seed {seed}");
    }
}

/// Joins give the new groups shards, the leaver hands its shards over and departs, and every
/// server ends at the same last configuration, in which the leaver has no shard.
#[test]
fn joins_and_a_leave_move_shards_and_the_leaver_departs_empty_handed() {
    let (events, _) = trace("scenarios/shardkv/moves.ron", ("", ""), 0, "moves2");
    let notes: Vec<(String, String)> = events
        .iter()
        .filter(|e| text(e, "kind") == "note")
        .map(|e| (text(e, "node").to_string(), text(e, "text").to_string()))
        .collect();
    let last = |node: &str| {
        notes
            .iter()
            .rfind(|(n, t)| n == node && t.starts_with("takes configuration "))
            .map(|(_, t)| parse_config(t.trim_start_matches("takes configuration ")))
    };
    let (n, shards) = last("server2").expect("server2 took configurations");
    for s in ["server3", "server4", "server5"] {
        assert_eq!(last(s), Some((n, shards.clone())), "{s}");
    }
    assert!(
        !shards.contains(&1),
        "the leaver still holds shards: {shards:?}"
    );
    assert!(shards.contains(&4) && shards.contains(&5), "{shards:?}");
    assert!(notes
        .iter()
        .any(|(n, t)| n == "server1" && t.contains("handed every shard over")));
    assert!(events
        .iter()
        .any(|e| text(e, "fault") == "server1 has left, as it was asked"));
    // The joiners' shards arrived from the groups that held them.
    assert!(notes
        .iter()
        .any(|(n, t)| n == "server4" && t.starts_with("has shard ")));
}

#[test]
fn the_oracle_catches_both_planted_migration_bugs() {
    let hunt = "scenarios/hunt/shardkv-nemesis.ron";
    let anchor = "ShardKv(final_reads: \"7.5s\"";
    for (switch, what) in [
        ("serve_before_arrival", "before its state arrived"),
        ("serve_after_handoff", "which gives shard"),
    ] {
        let planted = format!("{anchor}, {switch}: true");
        let caught = (0..20).any(|seed| {
            let (events, _) = trace(hunt, (anchor, &planted), seed, switch);
            violations(&events).iter().any(|v| v.contains(what))
        });
        assert!(caught, "{switch}: the oracle saw nothing in 20 seeds");
    }
}

#[test]
fn bad_shardkv_settings_are_input_errors() {
    let dir = std::env::temp_dir().join(format!("clustersim-shardkv-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(root().join("scenarios/shardkv/moves.ron")).unwrap();
    for (from, to, expect) in [
        ("ShardKv(", "ShardKv(shards: 11, ", "shards must be 1 to 10"),
        ("ShardKv(", "ShardKv(shards: 0, ", "shards must be 1 to 10"),
        (
            "ShardKv(",
            "ShardKv(poll: \"0s\", ",
            "poll must be greater than zero",
        ),
        ("(role: \"ctrl\", count: 3),", "", "role `ctrl`"),
        (
            "(role: \"server\", count: 2, spare: true),",
            "(role: \"server\", count: 14, spare: true),",
            "at most 15 servers",
        ),
    ] {
        let path = dir.join("bad.ron");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_clustersim"))
            .args(["run", path.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{to}: {err}");
        assert!(err.contains(expect), "{to}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
