//! What one debugger step costs at 1,000 nodes: opens `scenarios/chat-1000.ron` in a
//! `debug::Session`, runs it to a few instants, and at each prints the bytes and the time of
//! one step answered with the whole state (what the page was sent before deltas) and of steps
//! answered with what changed (`view::answer` against what the page holds), action included.
//! At 1 s of virtual time (480,000 steps in) it prints the median step against the 200 ms
//! target and against a baseline timed in the same run on the same state: a deep copy of the
//! trace so far, what every step used to make before the trace was shared (copy on write).

use clustersim::debug::view::{answer, Notice, Sent};
use clustersim::debug::{Action, Session};
use clustersim::registry::Registry;
use clustersim::scenario::load;
use clustersim::time::SimTime;
use std::path::Path;
use std::time::Instant;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn main() {
    let file = "scenarios/chat-1000.ron";
    let registry = Registry::shipped();
    let scenario = load(Path::new(file)).expect("loads");
    let start = Instant::now();
    let mut session =
        Session::open(registry.prepare(&scenario, file).expect("prepares")).expect("opens");
    println!("{file}: opened in {:.1} ms", ms(start));
    let mut notice = Notice::default();
    let mut sent = Sent::new();
    for at_ms in [0u64, 200, 1000] {
        if at_ms > 0 {
            let t = Instant::now();
            session
                .act(&Action::To(SimTime(at_ms * 1_000_000)))
                .expect("runs to");
            println!(
                "run to {at_ms} ms: {} steps, {:.0} ms",
                session.steps().len(),
                ms(t)
            );
        }
        notice.version += 1;
        let t = Instant::now();
        session.act(&Action::Next).expect("steps");
        let full = answer(&session, &notice, &mut sent, None);
        println!(
            "  at {at_ms} ms, a step sent whole: {:>10} bytes, {:>7.1} ms",
            full.len(),
            ms(t)
        );
        let mut times = Vec::new();
        for _ in 0..7 {
            let have = Some(notice.version);
            notice.version += 1;
            let t = Instant::now();
            session.act(&Action::Next).expect("steps");
            let delta = answer(&session, &notice, &mut sent, have);
            times.push(ms(t));
            println!(
                "  at {at_ms} ms, a step as a delta: {:>10} bytes, {:>7.1} ms",
                delta.len(),
                ms(t)
            );
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        if at_ms == 1000 {
            // The baseline: copying the trace so far, as each step's outcome used to.
            let outcome = session.sim().outcome();
            let mut copies = Vec::new();
            for _ in 0..3 {
                let t = Instant::now();
                let copy = outcome.trace.events().to_vec();
                copies.push(ms(t));
                std::hint::black_box(copy);
            }
            copies.sort_by(f64::total_cmp);
            let copy = copies[1];
            let t = Instant::now();
            let tree = session.tree_view();
            std::hint::black_box(tree);
            println!(
                "  of a step, the tree of {} explored states as the page is shown it: {:.1} ms",
                session.explored(),
                ms(t)
            );
            println!(
                "a step at 1 s: median {median:.1} ms (target: under 200 ms); a deep copy of the \
                 trace so far ({} events): {copy:.1} ms; step / copy = {:.2}",
                outcome.trace.events().len(),
                median / copy
            );
        }
    }
}
