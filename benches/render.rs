//! Rendering cost on a long run: builds the model, the timeline, the SVG, the HTML and the
//! plots for ping-partition stretched to 200 s of virtual time, and prints each figure.

use clustersim::registry::Registry;
use clustersim::render::timeline::{self, TimelineOptions};
use clustersim::render::{html, plots, svg, Model};
use clustersim::run::{run_file, RunOptions};
use clustersim::trace::TraceLevel;
use clustersim::Duration;
use std::path::Path;
use std::time::Instant;

fn time<T>(label: &str, reps: u32, mut f: impl FnMut() -> T) {
    let start = Instant::now();
    for _ in 0..reps {
        std::hint::black_box(f());
    }
    let per = start.elapsed().as_secs_f64() / reps as f64;
    println!("{label:<10} {:>9.3} ms", per * 1e3);
}

fn main() {
    let opts = RunOptions::default()
        .trace(TraceLevel::Full)
        .max_time(Some(Duration::from_secs(200)));
    let r = run_file(
        &Registry::shipped(),
        Path::new("scenarios/ping-partition.ron"),
        &opts,
    )
    .expect("runs");
    let events = r.outcome.trace.events().len();
    let model = Model::of_run(&r.outcome, &r.verdicts);
    println!(
        "ping-partition, 200s: {events} trace events, {} messages, {} operations",
        model.messages.len(),
        model.ops.len()
    );
    time("model", 10, || Model::of_run(&r.outcome, &r.verdicts));
    time("timeline", 10, || {
        timeline::render(&model, &TimelineOptions::default())
    });
    time("svg", 10, || svg::render(&model, None));
    time("html", 10, || html::render(&model, &[], None, "bench"));
    time("plots", 10, || plots::all(&model));
}
