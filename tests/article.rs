//! The claims of the book's chapter 10 (`scenarios/article/`), each a run that proves or
//! disproves it: three copies survive one lost zone and not an acknowledgement made before the
//! copies exist nor a correlated failure; a quorum costs round trips of latency and more clients
//! buy throughput; a single message queue loses acknowledged chat messages that gossiping
//! back-ends keep. `Wipe` loses a disk that a crash keeps.

use clustersim::check::Status;
use clustersim::registry::Registry;
use clustersim::run::{run_file, Report, RunOptions};
use std::path::Path;

fn run(name: &str) -> Report {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/article")
        .join(name);
    run_file(&Registry::shipped(), &path, &RunOptions::default()).expect("scenario runs")
}

fn status(r: &Report, check: &str) -> Status {
    r.verdicts
        .iter()
        .find(|v| v.check == check)
        .unwrap_or_else(|| panic!("no {check}"))
        .status
}

#[test]
fn three_copies_survive_one_lost_zone_but_not_an_early_ack_or_a_correlated_failure() {
    assert_eq!(
        status(&run("s3-one-zone-lost.ron"), "Durable"),
        Status::Pass
    );
    assert_eq!(
        status(&run("s3-ack-before-copies.ron"), "Durable"),
        Status::Fail
    );
    assert_eq!(
        status(&run("s3-ack-after-copies.ron"), "Durable"),
        Status::Pass
    );
    assert_eq!(status(&run("s3-correlated.ron"), "Durable"), Status::Fail);
}

#[test]
fn a_wiped_zone_comes_back_empty_where_a_crashed_one_keeps_its_disk() {
    // The same faults with Crash instead of Wipe: the lone copies survive on replica1's disk.
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/article/s3-ack-before-copies.ron");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("Wipe(\"replica1\")", "Crash(\"replica1\")");
    let scenario = clustersim::scenario::parse(&text, "crash-instead").unwrap();
    let r = clustersim::run::run_scenario(
        &Registry::shipped(),
        &scenario,
        "crash-instead",
        &RunOptions::default(),
    )
    .unwrap();
    assert_eq!(status(&r, "Durable"), Status::Pass);
}

fn ok_latencies(r: &Report) -> (usize, u64) {
    let mut lat: Vec<u64> = r
        .outcome
        .history
        .calls()
        .iter()
        .filter(|c| c.outcome == clustersim::history::Phase::Ok)
        .filter_map(|c| c.complete_time.map(|t| t.since(c.invoke_time).0))
        .collect();
    lat.sort_unstable();
    (lat.len(), lat[lat.len() / 2])
}

#[test]
fn a_quorum_costs_latency_and_more_clients_buy_throughput() {
    let (one_n, one_p50) = ok_latencies(&run("latency-one-node.ron"));
    let (q_n, q_p50) = ok_latencies(&run("latency-quorum.ron"));
    let (many_n, many_p50) = ok_latencies(&run("throughput-quorum-16.ron"));
    // At least one more round trip (1-5 ms links) per call.
    assert!(q_p50 > one_p50 * 2, "{q_p50} vs {one_p50}");
    assert!(q_n < one_n);
    // Four times the clients: about four times the calls, the same latency within 10%.
    assert!(many_n as f64 > q_n as f64 * 3.5, "{many_n} vs {q_n}");
    assert!((many_p50 as f64 - q_p50 as f64).abs() < q_p50 as f64 * 0.1);
}

#[test]
fn a_single_queue_loses_acknowledged_messages_that_gossip_keeps() {
    assert_eq!(
        status(&run("chat-queue-spof.ron"), "NoLostTasks"),
        Status::Fail
    );
    assert_eq!(
        status(&run("chat-no-spof.ron"), "AllDelivered"),
        Status::Pass
    );
}
