//! The capacity model, observed in the trace: service times that keep a node busy, a FIFO queue
//! that timers wait in too, a bound that drops (`queue full`), a crash that empties the queue,
//! links that send one message at a time at their bandwidth; and, as an oracle it did not write,
//! queueing theory: an M/M/1 and an M/D/1 server's mean wait and queue length against the
//! formulas (Pollaczek-Khinchine).

use clustersim::net::{Bandwidth, Latency, LinkSpec, Network};
use clustersim::node::{NodeFactory, Roster};
use clustersim::sim::capacity::NodeCapacity;
use clustersim::sim::{Bounds, RunOutcome, Sim, SimConfig};
use clustersim::trace::{DropReason, TraceKind, TraceLevel};
use clustersim::{Context, Duration, Node, NodeId, SimTime};
use rand::Rng;

const SERVER: NodeId = NodeId(0);

fn ms(n: u64) -> SimTime {
    SimTime(n * 1_000_000)
}

/// A server (node 0) that counts what it handles, and clients that send it `burst` messages at
/// boot, then one every exponential gap of mean `gap` (0: none), until `until`.
enum Load {
    Server,
    Client {
        gap: u64,
        until: SimTime,
        burst: u64,
        next: u64,
    },
}

#[derive(Clone, Debug, Hash)]
enum Msg {
    Work(u64),
    /// Costs ten times the drawn service time (`service_time`).
    Heavy(u64),
}

impl Node for Load {
    type Msg = Msg;
    type Timer = u8;
    type Stored = ();

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match self {
            Load::Server => {
                ctx.set_timer(Duration::from_millis(5), 1);
            }
            Load::Client {
                gap, burst, next, ..
            } => {
                for _ in 0..*burst {
                    *next += 1;
                    ctx.send(SERVER, Msg::Work(*next));
                }
                if *gap > 0 {
                    ctx.set_timer(Duration(1), 0);
                }
            }
        }
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, _from: NodeId, _msg: Msg) {}

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _t: u8) {
        match self {
            Load::Server => {}
            Load::Client {
                gap, until, next, ..
            } => {
                if ctx.now() >= *until {
                    return;
                }
                *next += 1;
                ctx.send(SERVER, Msg::Work(*next));
                let u: f64 = ctx.rng().random();
                let wait = (-(1.0 - u).ln() * *gap as f64).max(1.0) as u64;
                ctx.set_timer(Duration(wait), 0);
            }
        }
    }

    fn message_bytes(_msg: &Msg) -> u64 {
        100
    }
}

fn factory(gap: u64, until: SimTime, burst: u64) -> NodeFactory<Load> {
    Box::new(move |id, _, _| {
        if id == SERVER {
            Load::Server
        } else {
            Load::Client {
                gap,
                until,
                burst,
                next: u64::from(id.0) * 1_000_000,
            }
        }
    })
}

fn config(clients: u32, service: Option<NodeCapacity>, link: LinkSpec, end: Duration) -> SimConfig {
    let roster = Roster::new(
        std::iter::once(("server".to_string(), "server".to_string()))
            .chain((1..=clients).map(|i| (format!("client{i}"), "client".to_string()))),
    );
    let n = clients as usize + 1;
    let mut capacity = vec![None; n];
    capacity[0] = service;
    SimConfig::new(roster, Network::new(n, link))
        .seed(11)
        .bounds(Bounds::new(end, 50_000_000))
        .trace(TraceLevel::Full)
        .capacity(capacity)
}

fn constant_link(latency: Duration) -> LinkSpec {
    LinkSpec {
        latency: Latency::Constant(latency),
        ..LinkSpec::default()
    }
}

fn capacity(service: Latency, queue: Option<u32>) -> Option<NodeCapacity> {
    Some(NodeCapacity::new(service, queue))
}

fn handled(out: &RunOutcome) -> Vec<SimTime> {
    out.trace
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Deliver { to, .. } if to == SERVER => Some(e.time),
            _ => None,
        })
        .collect()
}

fn drops(out: &RunOutcome, reason: DropReason) -> usize {
    out.trace
        .events()
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::Drop { reason: r, .. } if r == reason))
        .count()
}

#[test]
fn a_busy_server_handles_a_burst_one_service_time_apart() {
    let cfg = config(
        1,
        capacity(Latency::Constant(Duration::from_millis(10)), None),
        constant_link(Duration::from_millis(1)),
        Duration::from_secs(1),
    );
    let out = Sim::new(cfg, factory(0, SimTime::ZERO, 5)).run();
    // Each is handled when its 10 ms of service end: what it sends leaves then.
    assert_eq!(handled(&out), vec![ms(11), ms(21), ms(31), ms(41), ms(51)]);
    let (_, load) = &out.load[0];
    assert_eq!(load.handled, 5);
    // Four messages wait from 1 ms, and the server's own 5 ms timer joins them behind (it runs
    // at 51 ms, when the last message is done).
    assert_eq!(load.peak_queue, 5);
    // Waits of 10, 20, 30 and 40 ms before service began (the timer's is not a message's).
    assert_eq!(load.waited, Duration::from_millis(100));
    assert_eq!(load.queued, 4);
    assert_eq!(load.mean_wait(), Duration::from_millis(20));
    assert_eq!(load.busy, Duration::from_millis(50));
    // Without the model the same run handles all five at once.
    let cfg = config(
        1,
        None,
        constant_link(Duration::from_millis(1)),
        Duration::from_secs(1),
    );
    let out = Sim::new(cfg, factory(0, SimTime::ZERO, 5)).run();
    assert_eq!(handled(&out), vec![ms(1); 5]);
    assert!(out.load.is_empty());
}

#[test]
fn a_timer_due_while_the_node_is_busy_runs_when_it_is_free() {
    let cfg = config(
        1,
        capacity(Latency::Constant(Duration::from_millis(10)), None),
        constant_link(Duration::from_millis(1)),
        Duration::from_secs(1),
    );
    let out = Sim::new(cfg, factory(0, SimTime::ZERO, 3)).run();
    let timer_at: Vec<SimTime> = out
        .trace
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Timer { node, .. } if node == SERVER => Some(e.time),
            _ => None,
        })
        .collect();
    // Due at 5 ms while the first message keeps the server busy until 11 ms, behind the two
    // that have waited since 1 ms: first in, first out.
    assert_eq!(handled(&out), vec![ms(11), ms(21), ms(31)]);
    assert_eq!(timer_at, vec![ms(31)]);
}

#[test]
fn a_full_queue_drops_what_arrives_and_says_so() {
    let cfg = config(
        1,
        capacity(Latency::Constant(Duration::from_millis(10)), Some(2)),
        constant_link(Duration::from_millis(1)),
        Duration::from_secs(1),
    );
    let out = Sim::new(cfg, factory(0, SimTime::ZERO, 6)).run();
    // One served at once, two wait, three dropped.
    assert_eq!(handled(&out), vec![ms(11), ms(21), ms(31)]);
    assert_eq!(drops(&out, DropReason::QueueFull), 3);
    assert_eq!(out.stats.dropped[5], 3);
    assert_eq!(out.load[0].1.shed, 3);
}

#[test]
fn a_full_queue_under_back_pressure_holds_what_arrives_and_loses_nothing() {
    let cfg = config(
        1,
        capacity(Latency::Constant(Duration::from_millis(10)), Some(2)).map(|c| c.blocking()),
        constant_link(Duration::from_millis(1)),
        Duration::from_secs(1),
    );
    let out = Sim::new(cfg, factory(0, SimTime::ZERO, 6)).run();
    // One served at once, two wait, three held at the door: each enters the queue as a slot
    // frees, and all six are handled, one service time apart. The server's own timer, due at
    // 5 ms, waits in the queue too and takes a slot until it runs at 31 ms.
    assert_eq!(
        handled(&out),
        vec![ms(11), ms(21), ms(31), ms(41), ms(51), ms(61)]
    );
    assert_eq!(drops(&out, DropReason::QueueFull), 0);
    assert_eq!(out.stats.dropped_total(), 0);
    let load = &out.load[0].1;
    assert_eq!((load.shed, load.held, load.peak_held), (0, 3, 3));
    // Held from 1 ms until 21, 31 and 31 ms (the timer's slot frees at 31 ms, as the fourth
    // message's does).
    assert_eq!(load.held_for, Duration::from_millis(20 + 30 + 30));
    assert_eq!(load.mean_hold(), Duration(80_000_000 / 3));
    // In the order they were sent: the link's messages are never reordered by the hold.
    let ids: Vec<u64> = out
        .trace
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Deliver { to, id, .. } if to == SERVER => Some(id),
            _ => None,
        })
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
}

#[test]
fn a_node_with_no_room_at_all_still_takes_held_messages_in_turn() {
    // `queue: 0` under back-pressure: nothing waits in the queue, everything at the door.
    let cfg = config(
        1,
        capacity(Latency::Constant(Duration::from_millis(10)), Some(0)).map(|c| c.blocking()),
        constant_link(Duration::from_millis(1)),
        Duration::from_secs(1),
    );
    let out = Sim::new(cfg, factory(0, SimTime::ZERO, 3)).run();
    assert_eq!(handled(&out), vec![ms(11), ms(21), ms(31)]);
    assert_eq!(out.load[0].1.held, 2);
    assert_eq!(out.load[0].1.shed, 0);
}

#[test]
fn a_crash_loses_what_was_held_back_as_well() {
    use clustersim::fault::Fault;
    let cfg = config(
        1,
        capacity(Latency::Constant(Duration::from_millis(10)), Some(1)).map(|c| c.blocking()),
        constant_link(Duration::from_millis(1)),
        Duration::from_secs(1),
    )
    .schedule(vec![(ms(5), Fault::Crash(SERVER))]);
    let out = Sim::new(cfg, factory(0, SimTime::ZERO, 4)).run();
    // One served, one waiting, two held: all four lost to the crash, none handled.
    assert_eq!(handled(&out), Vec::<SimTime>::new());
    assert_eq!(drops(&out, DropReason::Crashed), 4);
    assert_eq!(out.load[0].1.held, 2);
}

#[test]
fn a_crash_empties_the_queue_and_the_restarted_node_sees_none_of_it() {
    use clustersim::fault::Fault;
    let cfg = config(
        1,
        capacity(Latency::Constant(Duration::from_millis(10)), None),
        constant_link(Duration::from_millis(1)),
        Duration::from_secs(1),
    )
    .schedule(vec![
        (ms(15), Fault::Crash(SERVER)),
        (ms(16), Fault::Restart(SERVER)),
    ]);
    let out = Sim::new(cfg, factory(0, SimTime::ZERO, 5)).run();
    // The first is handled at 11 ms; at 15 ms the second is being served and three wait: the
    // crash loses all four.
    assert_eq!(handled(&out), vec![ms(11)]);
    assert_eq!(drops(&out, DropReason::Crashed), 4);
}

#[test]
fn a_link_with_a_bandwidth_sends_a_burst_one_message_at_a_time() {
    let mut link = constant_link(Duration::from_millis(1));
    // 100-byte messages at 10 KB/s: 10 ms each to leave.
    link.bandwidth = Some("10KB/s".parse::<Bandwidth>().unwrap());
    let cfg = config(1, None, link, Duration::from_secs(1));
    let out = Sim::new(cfg, factory(0, SimTime::ZERO, 4)).run();
    assert_eq!(handled(&out), vec![ms(11), ms(21), ms(31), ms(41)]);
}

#[test]
fn the_protocol_scales_service_time_per_message() {
    /// Sends the server one heavy message, then a light one.
    struct Once;
    impl Node for Once {
        type Msg = Msg;
        type Timer = ();
        type Stored = ();
        fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
            if ctx.id() != SERVER {
                ctx.send(SERVER, Msg::Heavy(1));
                ctx.send(SERVER, Msg::Work(2));
            }
        }
        fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: Msg) {}
        fn on_timer(&mut self, _: &mut Context<'_, Self>, _: ()) {}
        fn service_time(&self, msg: &Msg, drawn: Duration) -> Duration {
            match msg {
                Msg::Heavy(_) => Duration(drawn.0 * 10),
                Msg::Work(_) => drawn,
            }
        }
    }
    let cfg = config(
        1,
        capacity(Latency::Constant(Duration::from_millis(1)), None),
        constant_link(Duration::from_millis(1)),
        Duration::from_secs(1),
    );
    let out = Sim::new(cfg, Box::new(|_, _, _| Once)).run();
    // The heavy one keeps the server busy 10 ms; the light one waits for it, then takes 1 ms.
    assert_eq!(handled(&out), vec![ms(11), ms(12)]);
    assert_eq!(out.load[0].1.busy, Duration::from_millis(11));
}

/// A long run of Poisson arrivals at rate `lambda` (per second, from 8 clients) at a server of
/// `service`: its mean wait and mean queue length.
fn queue_figures(service: Latency, lambda: f64, seconds: u64) -> (f64, f64) {
    let clients = 8u32;
    let gap = (1e9 * f64::from(clients) / lambda) as u64;
    let end = Duration::from_secs(seconds);
    let cfg = config(
        clients,
        capacity(service, None),
        constant_link(Duration::from_millis(1)),
        end,
    )
    .trace(TraceLevel::HashOnly);
    let out = Sim::new(cfg, factory(gap, SimTime::ZERO + end, 0)).run();
    let (_, load) = &out.load[0];
    let span = out.end_time.since(SimTime::ZERO);
    (load.mean_wait().0 as f64 / 1e6, load.mean_queue(span))
}

#[test]
fn an_mm1_server_waits_as_queueing_theory_says() {
    // M/M/1, mean service 1 ms (mu = 1000/s), lambda = 600/s: rho = 0.6,
    // Wq = rho / (mu - lambda) = 1.5 ms, Lq = rho^2 / (1 - rho) = 0.9.
    let mean = Duration::from_millis(1);
    let (wait, queue) = queue_figures(
        Latency::Exponential {
            mean,
            floor: Duration::ZERO,
        },
        600.0,
        200,
    );
    assert!(
        (wait - 1.5).abs() < 0.15,
        "mean wait {wait} ms, theory 1.5 ms"
    );
    assert!((queue - 0.9).abs() < 0.09, "mean queue {queue}, theory 0.9");
}

#[test]
fn an_md1_server_waits_half_as_long_as_an_mm1() {
    // M/D/1 (Pollaczek-Khinchine with no service variance): Wq = rho / (2 mu (1 - rho)) =
    // 0.75 ms at rho = 0.6, Lq = rho^2 / (2 (1 - rho)) = 0.45.
    let (wait, queue) = queue_figures(Latency::Constant(Duration::from_millis(1)), 600.0, 200);
    assert!(
        (wait - 0.75).abs() < 0.075,
        "mean wait {wait} ms, theory 0.75 ms"
    );
    assert!(
        (queue - 0.45).abs() < 0.045,
        "mean queue {queue}, theory 0.45"
    );
}

#[test]
fn the_same_seed_replays_the_same_queues() {
    let run = || {
        let cfg = config(
            4,
            capacity(
                Latency::Exponential {
                    mean: Duration::from_millis(2),
                    floor: Duration::ZERO,
                },
                Some(5),
            ),
            constant_link(Duration::from_millis(1)),
            Duration::from_secs(2),
        );
        Sim::new(cfg, factory(3_000_000, ms(1_500), 2)).run()
    };
    let (a, b) = (run(), run());
    assert_eq!(a.trace_hash(), b.trace_hash());
    assert_eq!(a.load, b.load);
    assert!(
        a.load[0].1.shed > 0,
        "the bound was never reached: {:?}",
        a.load
    );
}

#[test]
fn the_same_seed_replays_the_same_back_pressure() {
    let run = || {
        let cfg = config(
            4,
            capacity(
                Latency::Exponential {
                    mean: Duration::from_millis(2),
                    floor: Duration::ZERO,
                },
                Some(5),
            )
            .map(|c| c.blocking()),
            constant_link(Duration::from_millis(1)),
            Duration::from_secs(2),
        );
        Sim::new(cfg, factory(3_000_000, ms(1_500), 2)).run()
    };
    let (a, b) = (run(), run());
    assert_eq!(a.trace_hash(), b.trace_hash());
    assert_eq!(a.load, b.load);
    assert!(a.load[0].1.held > 0, "nothing was held: {:?}", a.load);
    assert_eq!(a.load[0].1.shed, 0);
}

// ---------------------------------------------------------------- scenarios and the CLI

fn root() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn clustersim(args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

/// A scratch directory removed when the test ends.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("clustersim-capacity-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    /// The bundled one-server scenario with `from` replaced by `to`, written here.
    fn variant(&self, from: &str, to: &str) -> String {
        let text = std::fs::read_to_string(root().join("scenarios/capacity/one-server.ron"))
            .expect("reads");
        assert!(text.contains(from), "{from}");
        let path = self.0.join("s.ron");
        std::fs::write(&path, text.replace(from, to)).expect("writes");
        path.display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_run_under_load_reports_the_queue_and_holds_its_targets() {
    let (code, out) = clustersim(&["run", "scenarios/capacity/one-server.ron"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("  load: "), "{out}");
    assert!(out.contains("replica1: busy "), "{out}");
    assert!(out.contains("PASS Throughput"), "{out}");
    let dir = Scratch::new("targets");
    let file = dir.variant("at_least: 550", "at_least: 900");
    let (code, out) = clustersim(&["run", &file]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("FAIL Throughput") && out.contains("(at least 900)"),
        "{out}"
    );
}

#[test]
fn bad_capacity_and_load_settings_are_input_errors() {
    let dir = Scratch::new("bad");
    for (from, to, says) in [
        (
            "nodes: [\"replica\"]",
            "nodes: [\"nobody\"]",
            "valid roles: replica, client",
        ),
        (
            "queue: 1000",
            "queue: 100000000",
            "at most 10000000 messages",
        ),
        ("rate: 600", "rate: -5", "workload.rate is -5"),
        (
            "Exponential(mean: \"1ms\")",
            "Uniform(min: \"2ms\", max: \"1ms\")",
            "capacity[0]: service",
        ),
        (
            "latency: Uniform(min: \"1ms\", max: \"2ms\")",
            "latency: Constant(\"1ms\"), bandwidth: \"fast\"",
            "must end in /s",
        ),
        (
            "Throughput(at_least: 550, p99_within: \"25ms\", until: \"2.5s\")",
            "Throughput(until: \"2.5s\")",
            "Throughput needs a target",
        ),
        (
            "latency: Uniform(min: \"1ms\", max: \"2ms\")",
            "latency: Constant(\"1ms\"), bandwidth: \"10Mb/s\"",
            "could be bits or bytes",
        ),
        (
            "latency: Uniform(min: \"1ms\", max: \"2ms\")",
            "latency: Constant(\"1ms\"), bandwidth: \"ééé/s\"",
            "unknown unit",
        ),
        ("queue: 1000", "queue: 1000, when_full: Blok", "Blok"),
        (
            "queue: 1000",
            "when_full: Block",
            "when_full is Block, but the queue has no bound",
        ),
        // A protocol whose clients would ignore the rate.
        (
            "protocol: PrimaryBackup(mode: Sync)",
            "protocol: Ping()",
            "Ping's clients do not read it",
        ),
    ] {
        let file = dir.variant(from, to);
        let (code, out) = clustersim(&["run", &file]);
        assert_eq!(code, Some(2), "{to}: {out}");
        assert!(out.contains(says), "{to}: {out}");
        assert!(!out.contains("panicked"), "{out}");
    }
}

#[test]
fn the_exhaustive_search_refuses_the_capacity_model_and_says_why() {
    let dir = Scratch::new("check");
    let text =
        std::fs::read_to_string(root().join("scenarios/check/raft-election-3.ron")).expect("reads");
    let file = dir.0.join("s.ron");
    let with = text.replace(
        "    checks:",
        "    capacity: [(service: Constant(\"1ms\"))],\n    checks:",
    );
    std::fs::write(&file, with).expect("writes");
    let (code, out) = clustersim(&["check", &file.display().to_string()]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("capacity model") && out.contains("not searched"),
        "{out}"
    );
}

#[test]
fn open_loop_clients_offer_their_rate_whatever_is_unanswered() {
    use clustersim::registry::Registry;
    use clustersim::run::{run_file, RunOptions};
    let dir = Scratch::new("open");
    // Twice what the server can do: requests pile up, and each client keeps sending.
    let file = dir.variant("rate: 600", "rate: 2000");
    let r = run_file(
        &Registry::shipped(),
        std::path::Path::new(&file),
        &RunOptions::default(),
    )
    .expect("runs");
    let calls = r.outcome.history.calls();
    let offered = calls.len() as f64 / 2.5;
    assert!(
        (offered - 2000.0).abs() < 200.0,
        "offered {offered}/s, asked 2000/s"
    );
    // Some client had two calls in flight at once.
    let overlapping = calls.iter().any(|a| {
        calls.iter().any(|b| {
            a.node == b.node
                && a.id != b.id
                && b.invoke_time > a.invoke_time
                && a.complete_time.is_none_or(|end| b.invoke_time < end)
        })
    });
    assert!(overlapping, "no client had two calls in flight");
    // The server did not keep up: ok calls a second stay near its capacity (1 ms a request).
    let load = clustersim::check::measure_load(&r.outcome, Duration::ZERO, None).expect("calls");
    assert!(load.throughput < 1_150.0, "{}", load.describe());
    assert!(load.throughput > 850.0, "{}", load.describe());
}

/// The bundled one-server scenario with a short queue, offered 900 requests a second: dropping
/// what finds the queue full sheds requests and keeps the latency of the rest low; holding it
/// back instead (back-pressure) loses none, and the requests it held are late. The same seed
/// replays the same held-back run.
#[test]
fn back_pressure_loses_no_request_that_dropping_sheds_and_pays_in_latency() {
    use clustersim::registry::Registry;
    use clustersim::run::{run_file, RunOptions};
    let dir = Scratch::new("block");
    let run = |when_full: &str| {
        let text = std::fs::read_to_string(root().join("scenarios/capacity/one-server.ron"))
            .expect("reads")
            .replace("rate: 600", "rate: 900")
            .replace("queue: 1000", &format!("queue: 3{when_full}"));
        let path = dir.0.join(format!("s{}.ron", when_full.len()));
        std::fs::write(&path, text).expect("writes");
        run_file(&Registry::shipped(), &path, &RunOptions::default()).expect("runs")
    };
    let dropping = run("");
    let blocking = run(", when_full: Block");
    let server = |r: &clustersim::run::Report| r.outcome.load[0].1.clone();
    let (d, b) = (server(&dropping), server(&blocking));
    assert!(d.shed > 0, "the queue never filled: {d:?}");
    assert_eq!(d.held, 0);
    assert_eq!(b.shed, 0, "{b:?}");
    assert!(b.held > 0, "{b:?}");
    assert_eq!(blocking.outcome.stats.dropped_total(), 0);
    let load = |r: &clustersim::run::Report| {
        clustersim::check::measure_load(&r.outcome, Duration::ZERO, None).expect("calls")
    };
    let (ld, lb) = (load(&dropping), load(&blocking));
    // Every request is answered under back-pressure; those dropped never were.
    assert!(ld.unknown > 0, "{}", ld.describe());
    assert_eq!(
        (lb.ok, lb.unknown, lb.failed),
        (lb.calls, 0, 0),
        "{}",
        lb.describe()
    );
    let p99 = |l: &clustersim::check::Load| l.latency.expect("ok calls").p99;
    assert!(
        p99(&lb) > p99(&ld),
        "{} against {}",
        lb.describe(),
        ld.describe()
    );
    // The report says what was held, next to what was shed.
    let lines = clustersim::report::load_lines(&blocking.outcome);
    assert!(
        lines.contains("0 shed, ") && lines.contains(" held (mean "),
        "{lines}"
    );
    assert_eq!(
        run(", when_full: Block").outcome.trace_hash(),
        blocking.outcome.trace_hash()
    );
}

#[test]
fn a_load_sweep_finds_where_one_server_stops_keeping_up() {
    let dir = Scratch::new("sweep");
    let plot = dir.0.join("knee.svg").display().to_string();
    let (code, out) = clustersim(&[
        "load",
        "scenarios/capacity/one-server.ron",
        "--rates",
        "200,600,1400,2000",
        "--plot",
        &plot,
    ]);
    assert_eq!(code, Some(0), "{out}");
    // Served up to 600/s; beyond the 1,000/s the server can do, it is not.
    assert!(out.contains("knee: served up to 600/s offered"), "{out}");
    let svg = std::fs::read_to_string(&plot).expect("plot written");
    assert!(
        svg.starts_with("<svg") && svg.matches("<polyline").count() == 2,
        "{svg}"
    );
    // The plot is not overwritten without --force.
    let (code, out) = clustersim(&[
        "load",
        "scenarios/capacity/one-server.ron",
        "--rates",
        "200",
        "--plot",
        &plot,
    ]);
    assert_eq!(code, Some(2), "{out}");
    for bad in [
        vec!["--rates", "0"],
        vec!["--rates", "100:50:10"],
        vec!["--rates", "200", "--sizes", "nobody=1,2"],
        vec!["--rates", "200", "--sizes", "replica=0"],
    ] {
        let mut args = vec!["load", "scenarios/capacity/one-server.ron"];
        args.extend(bad.iter().copied());
        let (code, out) = clustersim(&args);
        assert_eq!(code, Some(2), "{bad:?}: {out}");
    }
}

#[test]
fn a_load_sweep_over_sizes_draws_one_curve_per_size() {
    let (code, out) = clustersim(&[
        "load",
        "scenarios/capacity/raft-3.ron",
        "--rates",
        "200,400",
        "--sizes",
        "server=1,3",
        "--after",
        "1.2s",
        "--until",
        "3.4s",
        "--jobs",
        "2",
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("  server=1:") && out.contains("  server=3:"),
        "{out}"
    );
    assert_eq!(out.matches("knee: ").count(), 2, "{out}");
}

#[test]
fn a_throughput_failure_shrinks_to_its_faults_and_keeps_its_load() {
    let dir = Scratch::new("shrink");
    let file = dir.variant(
        "checks: [Linearizable, Throughput(at_least: 550, p99_within: \"25ms\", until: \"2.5s\")],",
        "faults: [(at: \"1.5s\", fault: Crash(\"replica1\")), (at: \"2s\", fault: Restart(\"replica1\")), \
         (at: \"0.2s\", fault: Crash(\"client3\")), (at: \"0.4s\", fault: Restart(\"client3\"))],\n    \
         checks: [Throughput(at_least: 550, until: \"2.5s\")],",
    );
    let out_dir = dir.0.join("out").display().to_string();
    let (code, out) = clustersim(&["shrink", &file, "--seed", "1", "--out", &out_dir]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("shrunk to 2 fault events"), "{out}");
    let shrunk = std::fs::read_dir(&out_dir)
        .expect("written")
        .filter_map(|e| e.ok())
        .find(|e| e.path().extension().is_some_and(|x| x == "ron"))
        .expect("a shrunk scenario");
    let text = std::fs::read_to_string(shrunk.path()).expect("reads");
    // The load that failed it is kept whole: eight clients at 600 requests a second.
    assert!(
        text.contains("count: 8") && text.contains("rate: 600"),
        "{text}"
    );
    let (code, out) = clustersim(&["run", &shrunk.path().display().to_string()]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAIL Throughput"), "{out}");
}

#[test]
fn a_window_past_the_end_of_the_run_is_cut_at_its_end() {
    let dir = Scratch::new("until");
    let file = dir.variant("until: \"2.5s\")]", "until: \"50s\")]");
    let (code, out) = clustersim(&["run", &file]);
    // The run ends at 3 s: the rate is over the calls' 2.5 s, not 50 s.
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("PASS Throughput"), "{out}");
}

/// Sharding adds capacity where adding replicas did not: the sharded store's peak throughput
/// with eight groups is at least six times its peak with one (issue 40), every group's server
/// taking 1 ms per message. Measured in virtual time, so the figures are the same on any
/// machine.
#[test]
fn eight_shard_groups_serve_at_least_six_times_what_one_does() {
    use clustersim::explore::load::{sweep_load, LoadSweep};
    let scenario =
        clustersim::scenario::load(&root().join("scenarios/capacity/shardkv-groups.ron"))
            .expect("loads");
    let sweep = LoadSweep {
        rates: vec![500.0, 1_000.0, 2_000.0, 4_000.0, 6_000.0, 8_000.0, 10_000.0],
        sizes: Some(("server".to_string(), vec![1, 8])),
        after: Duration::from_millis(1_200),
        until: Some(Duration::from_millis(3_400)),
        jobs: 0,
    };
    let curves = sweep_load(
        &clustersim::registry::Registry::shipped(),
        &scenario,
        "shardkv-groups",
        &sweep,
    )
    .expect("sweeps");
    let (one, eight) = (curves[0].peak(), curves[1].peak());
    assert!(one > 800.0 && one < 1_100.0, "one group's peak {one}");
    assert!(eight >= 6.0 * one, "eight groups {eight}, one {one}");
    // Past its knee one group sheds work; eight groups still serve 4,000 a second in full.
    let at = |c: &clustersim::explore::load::LoadCurve, rate: f64| {
        c.points
            .iter()
            .find(|p| p.offered == rate)
            .and_then(|p| p.load.as_ref())
            .map_or(0.0, |l| l.throughput)
    };
    assert!(at(&curves[1], 4_000.0) > 3_800.0);
    assert!(at(&curves[0], 4_000.0) < 1_100.0);
}
