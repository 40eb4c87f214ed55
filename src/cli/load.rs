//! The `load` subcommand: a scenario swept over offered rates (and cluster sizes), a table of
//! what the clients got, each curve's knee, and optionally the knee plot as SVG.

use super::outputs::Outputs;
use super::run::{parse_duration, parse_seed};
use crate::explore::load::{sweep_load, LoadCurve, LoadSweep, MAX_RUNS};
use crate::registry::Registry;
use crate::render::knee::{knee, KneeCurve, KneePoint};
use crate::scenario::MAX_RATE;
use crate::{Duration, Error};
use std::path::PathBuf;

/// Flags of `load`.
#[derive(clap::Args, Debug)]
pub(super) struct LoadArgs {
    /// The scenario file (RON); its key-value clients are run open loop at each rate.
    file: PathBuf,
    /// Offered rates, requests per second of all clients together: a list (100,200,400) or
    /// FROM:TO:STEP (100:1000:100).
    #[arg(long, value_name = "RATES", value_parser = parse_rates, allow_hyphen_values = true)]
    rates: Rates,
    /// Also sweep one role's node count, one curve per count: ROLE=N,N,... (replica=1,3,5).
    #[arg(long, value_name = "ROLE=N,N", value_parser = parse_sizes)]
    sizes: Option<(String, Vec<u32>)>,
    /// Leave out calls invoked before this virtual time (a warm-up, a leader election).
    #[arg(long, value_parser = parse_duration, value_name = "T", default_value = "0s", allow_hyphen_values = true)]
    after: Duration,
    /// Leave out calls invoked after this virtual time (the drain after the load stops).
    #[arg(long, value_parser = parse_duration, value_name = "T", allow_hyphen_values = true)]
    until: Option<Duration>,
    /// Use this seed instead of the one in the file.
    #[arg(long, value_parser = parse_seed, allow_hyphen_values = true)]
    seed: Option<u64>,
    /// Runs at once [default: one per core]; the results do not depend on it.
    #[arg(long, short, value_parser = parse_jobs, allow_hyphen_values = true)]
    jobs: Option<usize>,
    /// Draw the knee (ok calls/s and p99 latency against offered load) to this SVG file.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Overwrite the plot file if it exists.
    #[arg(long)]
    force: bool,
}

/// The offered rates `--rates` lists.
#[derive(Clone, Debug)]
struct Rates(Vec<f64>);

/// Most rates one `--rates` may list.
const MAX_RATES: usize = 1_000;

fn parse_rate(s: &str) -> Result<f64, String> {
    let r: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a rate (requests per second, e.g. 250)"))?;
    if !(r.is_finite() && r > 0.0 && r <= MAX_RATE) {
        return Err(format!(
            "rate {s} must be more than 0 and at most {MAX_RATE} requests per second"
        ));
    }
    Ok(r)
}

fn parse_rates(s: &str) -> Result<Rates, String> {
    let rates: Vec<f64> = match s.split(':').collect::<Vec<_>>()[..] {
        [from, to, step] => {
            let (from, to, step) = (parse_rate(from)?, parse_rate(to)?, parse_rate(step)?);
            if to < from {
                return Err(format!("--rates {s}: {to} is below {from}"));
            }
            let n = ((to - from) / step).floor() as usize + 1;
            if n > MAX_RATES {
                return Err(format!("--rates {s} makes {n} rates; at most {MAX_RATES}"));
            }
            (0..n).map(|i| from + step * i as f64).collect()
        }
        [_] => s.split(',').map(parse_rate).collect::<Result<_, _>>()?,
        _ => {
            return Err(format!(
                "--rates {s}: write a list (100,200) or FROM:TO:STEP"
            ))
        }
    };
    if rates.len() > MAX_RATES {
        return Err(format!(
            "--rates lists {} rates; at most {MAX_RATES}",
            rates.len()
        ));
    }
    Ok(Rates(rates))
}

fn parse_sizes(s: &str) -> Result<(String, Vec<u32>), String> {
    let Some((role, counts)) = s.split_once('=') else {
        return Err(format!(
            "--sizes {s}: write ROLE=N,N,... (e.g. replica=1,3,5)"
        ));
    };
    let counts = counts
        .split(',')
        .map(|c| match c.trim().parse::<u32>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(format!(
                "--sizes {s}: `{c}` is not a node count (1 or more)"
            )),
        })
        .collect::<Result<Vec<u32>, String>>()?;
    Ok((role.trim().to_string(), counts))
}

fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=1024).contains(&n) => Ok(n),
        _ => Err(format!("--jobs {s}: a number of threads from 1 to 1024")),
    }
}

pub(super) fn cmd_load(registry: &Registry, args: &LoadArgs) -> Result<u8, Error> {
    if let Some(until) = args.until.filter(|u| *u <= args.after) {
        return Err(Error::Usage(format!(
            "--until {until} must be after --after {}",
            args.after
        )));
    }
    if let Some(plot) = &args.plot {
        if plot.extension().and_then(|e| e.to_str()) != Some("svg") {
            return Err(Error::Usage(format!(
                "--plot {} must name an .svg file (the plot is SVG)",
                plot.display()
            )));
        }
        let parent = plot.parent().filter(|p| !p.as_os_str().is_empty());
        if parent.is_some_and(|p| !p.is_dir()) {
            return Err(Error::Usage(format!(
                "--plot {}: its directory does not exist",
                plot.display()
            )));
        }
    }
    let outs = Outputs::new(&args.file, args.force);
    let plots: Vec<(&str, PathBuf)> = args.plot.iter().map(|p| ("--plot", p.clone())).collect();
    outs.check(&plots)?;
    let mut scenario = super::load_for(registry, &args.file)?;
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    let runs = args.rates.0.len() * args.sizes.as_ref().map_or(1, |(_, c)| c.len());
    if runs > MAX_RUNS {
        return Err(Error::Usage(format!(
            "{runs} runs asked (rates times sizes); at most {MAX_RUNS}"
        )));
    }
    let sweep = LoadSweep {
        rates: args.rates.0.clone(),
        sizes: args.sizes.clone(),
        after: args.after,
        until: args.until,
        jobs: args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        }),
    };
    let origin = args.file.display().to_string();
    outln!(
        "{} load: {} (seed {}), {} runs, checks not run (a sweep measures; `run` judges)",
        registry.program(),
        scenario.name,
        scenario.seed,
        runs
    );
    let curves = sweep_load(registry, &scenario, &origin, &sweep)?;
    for c in &curves {
        print_curve(c);
    }
    if let Some(path) = &args.plot {
        let drawn: Vec<KneeCurve> = curves.iter().map(knee_curve).collect();
        let title = format!(
            "{}: ok calls/s and p99 latency against offered load (seed {})",
            scenario.name, scenario.seed
        );
        outs.write_text("--plot", path, &knee(&title, &drawn))?;
        outln!("plot: {}", path.display());
    }
    Ok(0)
}

/// A rate as people write it: whole rates without decimals, others with two.
fn rate(r: f64) -> String {
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.2}")
    }
}

fn print_curve(c: &LoadCurve) {
    outln!("  {}:", c.label);
    outln!(
        "    {:>10} {:>11} {:>6} {:>10} {:>10} {:>10}  {:<22} {:>6}",
        "offered/s",
        "ok calls/s",
        "ok% *",
        "p50",
        "p99",
        "p99.9",
        "busiest node",
        "shed"
    );
    for p in &c.points {
        let busiest = p
            .busiest
            .as_ref()
            .map_or("-".to_string(), |(n, u)| format!("{n} {:.0}%", 100.0 * u));
        match &p.load {
            Some(l) => {
                let q = |f: fn(&crate::check::Quantiles) -> Duration| {
                    l.latency
                        .as_ref()
                        .map_or("-".to_string(), |q| f(q).to_string())
                };
                let share = if l.calls == 0 {
                    0.0
                } else {
                    100.0 * l.ok as f64 / l.calls as f64
                };
                outln!(
                    "    {:>10} {:>11.1} {:>6.1} {:>10} {:>10} {:>10}  {:<22} {:>6}",
                    rate(p.offered),
                    l.throughput,
                    share,
                    q(|q| q.p50),
                    q(|q| q.p99),
                    q(|q| q.p999),
                    busiest,
                    p.shed
                );
            }
            None => outln!(
                "    {:>10} {:>11} (no call invoked in the window)",
                rate(p.offered),
                "-"
            ),
        }
    }
    outln!(
        "    * of the calls invoked in the window; ok calls/s counts those completed in it, and \
         busiest node its busy share of the whole run"
    );
    match c.knee() {
        Some(k) => outln!(
            "    knee: served up to {}/s offered (ok calls at least {:.0}% of it, p99 under \
             {}x the lightest rate's); peak {:.1} ok calls/s",
            rate(k),
            100.0 * crate::explore::load::SERVED,
            crate::explore::load::LATENCY_GROWTH,
            c.peak()
        ),
        None => outln!(
            "    knee: not even the lightest rate was served; peak {:.1} ok calls/s",
            c.peak()
        ),
    }
}

fn knee_curve(c: &LoadCurve) -> KneeCurve {
    KneeCurve {
        label: c.label.clone(),
        points: c
            .points
            .iter()
            .map(|p| KneePoint {
                offered: p.offered,
                achieved: p.load.as_ref().map_or(0.0, |l| l.throughput),
                p99: p.load.as_ref().and_then(|l| l.latency).map(|q| q.p99),
            })
            .collect(),
        knee: c.knee(),
    }
}
