//! Crashes inside a handler (issue 39, `Fault::CrashAtSync`): a crash may fall between the
//! storage operations and sends of one handler, at one of its syncs, so only a prefix of its
//! effects happened. Observed in the trace and the history, and a journal that acknowledges
//! between its two syncs losing an acknowledged write where one that acknowledges after both
//! does not. Written with the public API only, as a user would.

use clustersim::check::{check_durable, Status};
use clustersim::fault::Fault;
use clustersim::history::Op;
use clustersim::net::{Latency, LinkSpec, Network};
use clustersim::node::{NodeFactory, Roster};
use clustersim::sim::{Bounds, RunOutcome, Sim, SimConfig};
use clustersim::storage::Keep;
use clustersim::trace::{TraceKind, TraceLevel};
use clustersim::{Context, Duration, Node, NodeId, SimTime};

const TICK: Duration = Duration::from_millis(10);
const WRITES_UNTIL: u64 = 100;
const READS_FROM: u64 = 300;
const JOURNAL: NodeId = NodeId(0);
const PEER: NodeId = NodeId(1);

fn ms(n: u64) -> SimTime {
    SimTime(n * 1_000_000)
}

/// A journal of values: each tick it appends the value as entry `e<n>` and syncs, then moves
/// its `count` pointer to `n` and syncs again; a read returns the entry the pointer names. It
/// tells its peer `appended` after the first sync and `committed` after the second.
#[derive(Clone, Hash)]
enum Journal {
    Writer {
        /// Acknowledge after the first sync (the entry is durable, the pointer not yet).
        ack_early: bool,
    },
    /// Counts what it hears.
    Peer,
}

impl Journal {
    fn count(ctx: &mut Context<'_, Self>) -> u64 {
        ctx.storage().get("count").copied().unwrap_or(0)
    }
}

impl Node for Journal {
    type Msg = &'static str;
    type Timer = ();
    type Stored = u64;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if let Journal::Writer { .. } = self {
            ctx.set_timer(TICK, ());
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, _: NodeId, msg: &'static str) {
        ctx.event(Op::custom("heard", msg));
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _: ()) {
        let Journal::Writer { ack_early } = *self else {
            return;
        };
        let now = ctx.now();
        if now <= ms(WRITES_UNTIL) {
            let v = 1_000 + now.0 / 1_000_000;
            let id = ctx.invoke(Op::Put { key: 0, value: v });
            let n = Self::count(ctx) + 1;
            ctx.storage().put(format!("e{n}"), v);
            ctx.storage().sync();
            ctx.send(PEER, "appended");
            if ack_early {
                ctx.ok(id, Op::Put { key: 0, value: v });
            }
            ctx.storage().put("count", n);
            ctx.storage().sync();
            ctx.send(PEER, "committed");
            if !ack_early {
                ctx.ok(id, Op::Put { key: 0, value: v });
            }
            ctx.event(Op::custom("tick done", &n));
        } else if now >= ms(READS_FROM) {
            let id = ctx.invoke(Op::Get {
                key: 0,
                value: None,
            });
            let n = Self::count(ctx);
            let value = ctx.storage().get(&format!("e{n}")).copied();
            ctx.ok(id, Op::Get { key: 0, value });
        }
        if now < ms(READS_FROM + 50) {
            ctx.set_timer(TICK, ());
        }
    }
}

/// The journal and its peer on `link`, from `seed`.
fn sim(
    ack_early: bool,
    seed: u64,
    link: LinkSpec,
    trace: TraceLevel,
) -> (SimConfig, NodeFactory<Journal>) {
    let roster = Roster::new([
        ("journal".to_string(), "journal".to_string()),
        ("peer".to_string(), "peer".to_string()),
    ]);
    let config = SimConfig::new(roster, Network::new(2, link))
        .seed(seed)
        .bounds(Bounds::new(Duration::from_millis(500), 100_000))
        .trace(trace);
    let factory: NodeFactory<Journal> = Box::new(move |id, _, _| {
        if id == JOURNAL {
            Journal::Writer { ack_early }
        } else {
            Journal::Peer
        }
    });
    (config, factory)
}

fn run(ack_early: bool, seed: u64, schedule: Vec<(SimTime, Fault)>) -> RunOutcome {
    let link = LinkSpec {
        latency: Latency::Constant(Duration::from_millis(1)),
        drop: 0.0,
        duplicate: 0.0,
        bandwidth: None,
    };
    let (config, factory) = sim(ack_early, seed, link, TraceLevel::Full);
    Sim::new(config.schedule(schedule), factory).run()
}

/// A crash armed at `at` ms (it falls in the tick after), the restart 25ms later.
fn crash_at(at: u64, sync: u32, power: bool, keep: Keep) -> Vec<(SimTime, Fault)> {
    vec![
        (
            ms(at),
            Fault::CrashAtSync {
                node: JOURNAL,
                sync,
                power,
                keep,
                torn: false,
            },
        ),
        (ms(at + 25), Fault::Restart(JOURNAL)),
    ]
}

/// What the peer heard, in order.
fn heard(out: &RunOutcome) -> Vec<String> {
    out.history
        .events()
        .filter(|e| e.node == PEER)
        .filter_map(|e| e.op.custom_value::<String>("heard"))
        .collect()
}

fn ticks_done(out: &RunOutcome) -> usize {
    out.history
        .events()
        .filter(|e| e.op.custom_value::<u64>("tick done").is_some())
        .count()
}

/// When the armed crash fell, from the run's record of it.
fn fell_at(out: &RunOutcome) -> Vec<SimTime> {
    out.faults
        .iter()
        .filter(|(_, f)| matches!(f, Fault::CrashAtSync { sync: 0, .. }))
        .map(|(t, _)| *t)
        .collect()
}

#[test]
fn a_crash_at_the_first_sync_keeps_what_came_before_it_and_nothing_after() {
    let kind = run(false, 1, Vec::new());
    let out = run(false, 1, crash_at(55, 1, false, Keep::Subset));
    // The crash fell in the first handler after it was armed (the tick at 60ms).
    assert_eq!(fell_at(&out), vec![ms(60)]);
    // That tick sent nothing and recorded nothing: the peer heard the ticks at 10..50 and,
    // after the restart at 80, at 90 and 100 (7 pairs), and no `tick done` came from it.
    assert_eq!(heard(&kind).len(), 2 * 10);
    assert_eq!(heard(&out).len(), 2 * 7, "{:?}", heard(&out));
    assert_eq!(ticks_done(&out), 7);
    // And wrote nothing that stayed: its entry was never made, so the next entry is e6.
    assert_eq!(check_durable(&out).status, Status::Pass);
    // Its invocation stays open (never acknowledged), and the trace says what happened.
    let text: Vec<String> = out
        .trace
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Fault { fault } => Some(format!("{fault:?}")),
            _ => None,
        })
        .collect();
    assert!(
        text.iter().any(|t| t.contains("sync: 0")),
        "no record of the crash: {text:?}"
    );
    assert_eq!(check_durable(&out).status, Status::Pass);
}

#[test]
fn a_crash_at_the_second_sync_sends_what_the_first_half_sent() {
    let out = run(false, 1, crash_at(55, 2, false, Keep::Subset));
    assert_eq!(fell_at(&out), vec![ms(60)]);
    let heard = heard(&out);
    // Five full ticks, then the 60ms tick's `appended` alone, then the ticks at 90 and 100.
    assert_eq!(
        &heard[8..12],
        ["appended", "committed", "appended", "appended"]
    );
    assert_eq!(heard.iter().filter(|h| *h == "appended").count(), 8);
    assert_eq!(heard.iter().filter(|h| *h == "committed").count(), 7);
    assert_eq!(ticks_done(&out), 7);
}

#[test]
fn a_crash_armed_but_never_reached_is_called_off_by_the_restart() {
    // Armed after the last write (no handler syncs again): nothing falls, nothing changes.
    let schedule = vec![
        (
            ms(WRITES_UNTIL + 5),
            Fault::CrashAtSync {
                node: JOURNAL,
                sync: 1,
                power: true,
                keep: Keep::Subset,
                torn: false,
            },
        ),
        (ms(WRITES_UNTIL + 50), Fault::Restart(JOURNAL)),
    ];
    let out = run(false, 1, schedule);
    assert!(fell_at(&out).is_empty());
    assert_eq!(heard(&out).len(), 2 * 10);
    // Armed, then a crash of another kind takes the node down first: the arming goes with it.
    let schedule = vec![
        (
            ms(55),
            Fault::CrashAtSync {
                node: JOURNAL,
                sync: 1,
                power: false,
                keep: Keep::Subset,
                torn: false,
            },
        ),
        (ms(58), Fault::Crash(JOURNAL)),
        (ms(80), Fault::Restart(JOURNAL)),
    ];
    let out = run(false, 1, schedule);
    assert!(fell_at(&out).is_empty(), "{:?}", out.faults);
}

#[test]
fn acknowledging_between_two_syncs_loses_a_write_to_a_power_loss_there() {
    // A power loss at the second sync may drop the unsynced pointer: the entry acknowledged
    // after the first sync is then unreachable. Acknowledging after both syncs never loses one.
    // The crash falls in the last write (at 100ms), so no later write covers the loss.
    let mut lost = 0;
    for seed in 0..20 {
        let schedule = crash_at(95, 2, true, Keep::Prefix);
        let early = run(true, seed, schedule.clone());
        let late = run(false, seed, schedule);
        assert_eq!(fell_at(&early), vec![ms(100)]);
        if check_durable(&early).status == Status::Fail {
            lost += 1;
        }
        assert_eq!(
            check_durable(&late).status,
            Status::Pass,
            "seed {seed}: {}",
            check_durable(&late).summary
        );
    }
    assert!(lost > 0, "the early acknowledgement never lost a write");
    // A process crash at the same point keeps the pointer (it reached the OS): no loss.
    let out = run(true, 0, crash_at(95, 2, false, Keep::Prefix));
    assert_eq!(check_durable(&out).status, Status::Pass);
}

/// Every path end of an exhaustive search of the journal with up to `disk_faults` disk faults
/// (a failed sync, or a crash at a sync with the power gone) on the writer: how many ends
/// `Durable` judged, how many failed, and the length of the shortest failing path.
fn searched(ack_early: bool, disk_faults: u32) -> (usize, usize, Option<usize>) {
    use clustersim::explore::exhaustive::{search_judging, ExhaustiveConfig};
    let (config, factory) = sim(ack_early, 1, LinkSpec::default(), TraceLevel::HashOnly);
    let search = ExhaustiveConfig::default()
        .targets(vec![JOURNAL])
        .crashes(0)
        .restarts(true)
        .disk_faults(disk_faults)
        .threads(1);
    let (mut judged, mut failed, mut shortest) = (0, 0, None::<usize>);
    let outcome = search_judging(Sim::new(config, factory), &[], &search, &mut |end| {
        let v = check_durable(end);
        if v.status != Status::Unknown {
            judged += 1;
        }
        if v.status == Status::Fail {
            failed += 1;
            let faults = end.faults.len();
            shortest = Some(shortest.map_or(faults, |s| s.min(faults)));
        }
    });
    assert!(outcome.complete, "the search must be exhausted");
    (judged, failed, shortest)
}

#[test]
fn the_exhaustive_search_crashes_inside_handlers_and_finds_the_early_acknowledgement() {
    // Without disk faults no path loses a write, either way.
    let (judged, failed, _) = searched(true, 0);
    assert!(
        judged > 0 && failed == 0,
        "{judged} judged, {failed} failed"
    );
    // With one, the journal that acknowledges between its syncs loses one: a crash at its
    // second sync, and the restart (the record of the crash, then the restart).
    let (judged, failed, shortest) = searched(true, 1);
    assert!(failed > 0, "{judged} judged, none failed");
    assert!(shortest.is_some_and(|s| s <= 3), "shortest {shortest:?}");
    // The journal that acknowledges after both syncs is exhausted with no loss.
    let (judged, failed, _) = searched(false, 1);
    assert!(
        judged > 0 && failed == 0,
        "{judged} judged, {failed} failed"
    );
}
