//! What one debugger step costs at 1,000 nodes: opens `scenarios/chat-1000.ron` in a
//! `debug::Session`, runs it to a few instants, and at each prints the bytes and the time of
//! one step answered with the whole state (what the page was sent before deltas) and of steps
//! answered with what changed (`view::answer` against what the page holds), action included.

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
        for _ in 0..3 {
            let have = Some(notice.version);
            notice.version += 1;
            let t = Instant::now();
            session.act(&Action::Next).expect("steps");
            let delta = answer(&session, &notice, &mut sent, have);
            println!(
                "  at {at_ms} ms, a step as a delta: {:>10} bytes, {:>7.1} ms",
                delta.len(),
                ms(t)
            );
        }
    }
}
