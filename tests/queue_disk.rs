//! The queue server's journal on a disk that fails (issue 39). For each way the disk fails, the
//! trace shows it, and a server that ignores it (`checksums: false`, `ignore_sync_failure:
//! true`) loses an acknowledged task where the shipped server, which checksums its records,
//! stores each task's id in its record, writes everything again after a failed sync and
//! acknowledges nothing its disk refused, does not.

use clustersim::check::Status;
use clustersim::registry::Registry;
use clustersim::run::{run_scenario, Report, RunOptions};
use clustersim::scenario::parse;
use clustersim::trace::{TraceKind, TraceLevel};

/// The queue with `servers` servers (`switches` added to its parameters), these faults and
/// disk rates, 40 tasks, judged by `NoLostTasks`.
fn scenario(servers: u32, switches: &str, faults: &str, disk: &str) -> String {
    format!(
        r#"(
    name: "queue-disk",
    seed: 0,
    bounds: (max_time: "5s", max_events: 1000000),
    nodes: [
        (role: "producer", count: 2),
        (role: "server", count: {servers}),
        (role: "worker", count: 2),
        (role: "sink", count: 1),
    ],
    protocol: Queue(
        variant: Reliable,
        lease: "150ms",
        idempotent_sink: true,
        processing: Uniform(min: "30ms", max: "90ms"),
        {switches}
    ),
    network: (default: (latency: Uniform(min: "1ms", max: "5ms"))),
    faults: [{faults}],
    disk: [{disk}],
    workload: (ops: 40, interval: "10ms", timeout: "100ms"),
    checks: [NoLostTasks, NoDuplicateEffects],
)"#
    )
}

static REGISTRY: std::sync::LazyLock<Registry> = std::sync::LazyLock::new(Registry::shipped);

fn run(text: &str, seed: u64) -> Report {
    let s = parse(text, "queue-disk.ron").expect("parses");
    let opts = RunOptions::default()
        .seed(Some(seed))
        .trace(TraceLevel::Full);
    run_scenario(&REGISTRY, &s, "queue-disk.ron", &opts).expect("runs")
}

fn passes(r: &Report) -> bool {
    r.verdicts.iter().all(|v| v.status == Status::Pass)
}

fn lost_tasks(r: &Report) -> bool {
    r.verdicts
        .iter()
        .any(|v| v.check == "NoLostTasks" && v.status == Status::Fail)
}

/// Every note of the run, as its text.
fn notes(r: &Report) -> Vec<String> {
    r.outcome
        .trace
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Note { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

/// A disk fills while tasks arrive and the server then loses its power: the server that takes
/// a refused write for a stored one acknowledged tasks it never wrote; the shipped one
/// acknowledges nothing its disk refused, and its producers try again.
#[test]
fn a_full_disk_loses_acknowledged_tasks_unless_refusals_are_seen() {
    let faults = r#"(at: "200ms", fault: DiskFull("server1")), (at: "320ms", fault: DiskFree("server1")),
        (at: "400ms", fault: PowerLoss(node: "server1")), (at: "450ms", fault: Restart("server1"))"#;
    let shipped = run(&scenario(1, "", faults, ""), 0);
    assert!(
        notes(&shipped)
            .iter()
            .any(|n| n.contains("refused: disk full")),
        "the trace shows the refused writes"
    );
    assert!(notes(&shipped)
        .iter()
        .any(|n| n.contains("acknowledges nothing")));
    assert!(passes(&shipped), "{:?}", shipped.verdicts);
    let ignoring = run(&scenario(1, "ignore_sync_failure: true,", faults, ""), 0);
    assert!(lost_tasks(&ignoring), "{:?}", ignoring.verdicts);
}

/// A failed sync drops what it covered (fsyncgate); a power loss later shows it.
#[test]
fn a_failed_sync_loses_acknowledged_tasks_unless_the_server_writes_again() {
    let faults = r#"(at: "200ms", fault: SyncFail("server1")), (at: "205ms", fault: SyncFail("server1")),
        (at: "400ms", fault: PowerLoss(node: "server1")), (at: "450ms", fault: Restart("server1"))"#;
    let shipped = run(&scenario(1, "", faults, ""), 0);
    assert!(notes(&shipped)
        .iter()
        .any(|n| n.contains("sync failed") && n.contains("dropped")));
    assert!(notes(&shipped)
        .iter()
        .any(|n| n.contains("writes every record again")));
    assert!(passes(&shipped), "{:?}", shipped.verdicts);
    let ignoring = run(&scenario(1, "ignore_sync_failure: true,", faults, ""), 0);
    assert!(lost_tasks(&ignoring), "{:?}", ignoring.verdicts);
}

/// A disk whose every sync fails: the shipped server starts over from its disk and its peers
/// again and again, and never acknowledges what it could not make durable; the others carry
/// the queue.
#[test]
fn a_server_whose_disk_never_syncs_starts_over_and_loses_nothing() {
    let disk = r#"(nodes: ["server1"], sync_fail: 1.0)"#;
    let shipped = run(&scenario(3, "", "", disk), 0);
    let notes = notes(&shipped);
    assert!(notes
        .iter()
        .any(|n| n.contains("starts over from what its disk holds")));
    assert!(passes(&shipped), "{:?}", shipped.verdicts);
}

/// Corrupt records (drawn at each sync) read back after a restart: without checksums a
/// corrupt record reads as its neighbour's and some seed loses a task; the shipped server sees
/// the damage, says so, and takes the tasks from its peers on every seed.
#[test]
fn corrupt_records_lose_a_task_unless_checksummed() {
    corrupt_or_misdirected(r#"(nodes: ["server"], corrupt: 0.1)"#, "corrupt on disk");
}

/// A write stored under another task's key (a misdirected write): without the task's id in
/// the record, the server takes it for the other task's.
#[test]
fn misdirected_writes_lose_a_task_unless_records_name_their_task() {
    corrupt_or_misdirected(
        r#"(nodes: ["server"], misdirected_write: 0.1)"#,
        "misdirected to",
    );
}

/// Each seed crashes and restarts the first server (the one that is primary whenever it is
/// up) three times under `disk`: the shipped queue passes
/// every seed and its trace shows the damage (`note`) and that it was seen; the unprotected one
/// fails some seed.
fn corrupt_or_misdirected(disk: &str, note: &str) {
    let faults = r#"(at: "300ms", fault: Crash("server1")), (at: "320ms", fault: Restart("server1")),
        (at: "500ms", fault: Crash("server1")), (at: "520ms", fault: Restart("server1")),
        (at: "700ms", fault: Crash("server1")), (at: "720ms", fault: Restart("server1"))"#;
    let mut seen = false;
    let mut unprotected_failed = false;
    for seed in 0..60 {
        let shipped = run(&scenario(3, "", faults, disk), seed);
        assert!(passes(&shipped), "seed {seed}: {:?}", shipped.verdicts);
        let notes = notes(&shipped);
        seen |= notes.iter().any(|n| n.contains(note))
            && notes.iter().any(|n| n.contains("cannot trust"));
        let trusting = run(&scenario(3, "checksums: false,", faults, disk), seed);
        unprotected_failed |= lost_tasks(&trusting);
    }
    assert!(seen, "no seed shows the damage and the server seeing it");
    assert!(unprotected_failed, "the unprotected server lost nothing");
}
