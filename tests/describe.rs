//! Node state as a tree (`Node::describe_tree`): the shipped protocols whose panels were raw
//! `Debug` dumps (Raft's servers and clients, the key-value client, the queue's roles, gossip)
//! describe live state first, configuration last, and nodes by their names; a protocol that
//! only writes `describe` still shows its text.

use clustersim::debug::{Action, Session};
use clustersim::describe::{Describe, Part};
use clustersim::node::{Context, Node, NodeId};
use clustersim::registry::Registry;
use clustersim::scenario::load;
use clustersim::time::SimTime;
use std::path::Path;

fn open(file: &str) -> Session {
    let registry = Registry::shipped();
    let scenario = load(Path::new(file)).unwrap();
    Session::open(registry.prepare(&scenario, file).unwrap()).unwrap()
}

/// Every running node's tree `until` into `file`, as text with names, by role (a node that is
/// down has no state to describe).
fn trees(file: &str, until: SimTime) -> Vec<(String, Describe, String)> {
    let mut s = open(file);
    s.act(&Action::To(until)).unwrap();
    let roster = s.sim().roster().clone();
    s.sim()
        .nodes()
        .into_iter()
        .filter_map(|n| {
            let tree = n.state?;
            let text = tree.to_text(roster.names());
            Some((roster.role(n.id).to_string(), tree, text))
        })
        .collect()
}

fn nodes_in(fields: &[clustersim::describe::Field]) -> usize {
    fields
        .iter()
        .map(|f| {
            f.value
                .iter()
                .filter(|p| matches!(p, Part::Node(_)))
                .count()
                + nodes_in(f.children.live())
                + nodes_in(f.children.configuration())
        })
        .sum()
}

#[test]
fn shipped_panels_show_live_state_first_configuration_last_and_nodes_by_name() {
    let cases = [
        ("scenarios/raft-leader-crash.ron", "server", "term"),
        ("scenarios/raft-leader-crash.ron", "client", "issued"),
        ("scenarios/kv-quorum-311.ron", "client", "issued"),
        (
            "scenarios/worker-crash-naive.ron",
            "server",
            "primary (believed)",
        ),
        ("scenarios/worker-crash-naive.ron", "worker", "doing"),
        ("scenarios/worker-crash-naive.ron", "producer", "submitted"),
        ("scenarios/chat-gossip.ron", "node", "holds"),
    ];
    for (file, role, first) in cases {
        let all = trees(file, SimTime(1_000_000_000));
        let mine: Vec<_> = all.iter().filter(|(r, _, _)| r == role).collect();
        assert!(!mine.is_empty(), "{file}: no {role}");
        for (_, tree, text) in mine {
            assert_eq!(
                tree.live()[0].label,
                first,
                "{file} {role}: live state first\n{text}"
            );
            assert!(!tree.configuration().is_empty(), "{file} {role}: {text}");
            assert!(
                text.trim_end().lines().any(|l| l == "configuration:"),
                "{file} {role}: configuration after the live fields\n{text}"
            );
            let config_at = text.find("\nconfiguration:").unwrap();
            assert!(
                !text[config_at..].contains("\nterm") && !text[config_at..].contains("\nissued"),
                "{text}"
            );
            assert!(
                !text.contains("NodeId("),
                "{file} {role}: a raw id in\n{text}"
            );
            for raw in ["#0", "#1", "#2", "Some(", "Arc", "{"] {
                assert!(
                    !text[..config_at].contains(raw),
                    "{file} {role}: `{raw}` in the live state\n{text}"
                );
            }
            assert!(
                nodes_in(tree.live()) + nodes_in(tree.configuration()) > 0,
                "{text}"
            );
        }
    }
}

#[test]
fn a_raft_leader_names_its_followers_and_its_servers_name_the_leader() {
    let all = [300u64, 600, 1500, 3000]
        .into_iter()
        .map(|ms| trees("scenarios/raft-leader-crash.ron", SimTime(ms * 1_000_000)))
        .find(|all| all.iter().any(|(_, _, t)| t.contains("role: leader")))
        .expect("a leader at one of these instants");
    let servers: Vec<_> = all.iter().filter(|(r, _, _)| r == "server").collect();
    let leader = servers
        .iter()
        .find(|(_, _, t)| t.contains("role: leader"))
        .unwrap();
    for (_, _, text) in &servers {
        assert!(
            text.lines().any(|l| l.starts_with("leader: server")),
            "the leader by name:\n{text}"
        );
    }
    let replication = leader
        .1
        .live()
        .iter()
        .find(|f| f.label == "replication")
        .expect("a leader shows its replication progress");
    assert_eq!(replication.children.live().len(), servers.len());
    assert!(leader.2.contains("next index"), "{}", leader.2);
}

/// A protocol outside the crate that only writes `describe`.
struct Counter(u64);

impl Node for Counter {
    type Msg = ();
    type Timer = ();
    type Stored = ();
    fn on_start(&mut self, _: &mut Context<'_, Self>) {}
    fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: ()) {}
    fn on_timer(&mut self, _: &mut Context<'_, Self>, _: ()) {}
    fn describe(&self) -> Option<String> {
        Some(format!("count {}", self.0))
    }
}

#[test]
fn a_protocol_that_only_describes_in_text_keeps_its_text() {
    let tree = Counter(7).describe_tree().expect("its describe, as a tree");
    assert_eq!(tree.to_text(&[]), "count 7");
    assert!(tree.configuration().is_empty());
}

#[test]
fn the_page_is_sent_the_tree_with_the_configuration_folded_last() {
    let mut s = open("scenarios/raft-leader-crash.ron");
    s.act(&Action::To(SimTime(1_000_000_000))).unwrap();
    let json: serde_json::Value = serde_json::from_str(&clustersim::debug::view::state_json(
        &s,
        &Default::default(),
    ))
    .unwrap();
    let server = &json["nodes"][0]["state"];
    let fields = server.as_array().expect("a list of fields");
    assert_eq!(fields[0]["l"], "term");
    let last = fields.last().unwrap();
    assert_eq!(last["l"], "configuration");
    assert_eq!(last["cfg"], true);
    let leader = fields.iter().find(|f| f["l"] == "leader").unwrap();
    assert!(
        leader["v"].as_str().unwrap().starts_with("server"),
        "{leader}"
    );
}
