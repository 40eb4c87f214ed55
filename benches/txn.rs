//! Elle-style checking of 100,000-transaction list-append and rw-register histories
//! (`clustersim::txn`), read from Jepsen EDN as `check-txn` reads them: parse and check timed
//! apart, serializable and with one planted write skew (G2-item); rw-register with each of
//! Elle's version-order assumptions. Target: each check under 10 seconds.
//!
//!   cargo bench --bench txn
use clustersim::lin::formats::{read_with, Format, Semantics};
use clustersim::txn::{check_list_append, check_rw_register, Assume, Orders};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::time::Instant;

/// `txns` transactions of one to four steps over `keys` lists, one after another (so
/// serializable), as one-per-line EDN; `skew` adds two transactions that each read the other's
/// key empty and append to their own, and a third that reads both.
fn history(txns: usize, keys: u64, seed: u64, skew: bool) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut lists: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    let mut out = String::with_capacity(txns * 200);
    let line = |out: &mut String, p: usize, invoke: &str, done: &str| {
        out.push_str(&format!(
            "{{:process {p} :type :invoke :f :txn :value [{invoke}]}}\n\
             {{:process {p} :type :ok :f :txn :value [{done}]}}\n"
        ));
    };
    for t in 0..txns {
        let (mut invoke, mut done) = (Vec::new(), Vec::new());
        for _ in 0..rng.random_range(1..=4) {
            let k = rng.random_range(0..keys);
            if rng.random_bool(0.5) {
                let list = lists.entry(k).or_default();
                let v = list.len() as u64 + 1;
                list.push(v);
                invoke.push(format!("[:append {k} {v}]"));
                done.push(format!("[:append {k} {v}]"));
            } else {
                let seen: Vec<String> = lists
                    .get(&k)
                    .map(|l| l.iter().map(u64::to_string).collect())
                    .unwrap_or_default();
                invoke.push(format!("[:r {k} nil]"));
                done.push(format!("[:r {k} [{}]]", seen.join(" ")));
            }
        }
        line(&mut out, t % 10, &invoke.join(" "), &done.join(" "));
    }
    if skew {
        let (x, y) = (keys, keys + 1);
        let a = format!("[:r {x} nil] [:append {y} 1]");
        line(&mut out, 0, &a, &format!("[:r {x} []] [:append {y} 1]"));
        let b = format!("[:r {y} nil] [:append {x} 1]");
        line(&mut out, 1, &b, &format!("[:r {y} []] [:append {x} 1]"));
        line(
            &mut out,
            2,
            &format!("[:r {x} nil] [:r {y} nil]"),
            &format!("[:r {x} [1]] [:r {y} [1]]"),
        );
    }
    out
}

/// `txns` rw-register transactions of one to four steps over `keys` registers, one after
/// another (so serializable), each client's in turn: reads see the last write, writes are
/// unique.
fn rw_history(txns: usize, keys: u64, seed: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut regs: BTreeMap<u64, u64> = BTreeMap::new();
    let mut out = String::with_capacity(txns * 150);
    let mut next = 0u64;
    for t in 0..txns {
        let (mut invoke, mut done) = (Vec::new(), Vec::new());
        for _ in 0..rng.random_range(1..=4) {
            let k = rng.random_range(0..keys);
            if rng.random_bool(0.5) {
                next += 1;
                regs.insert(k, next);
                invoke.push(format!("[:w {k} {next}]"));
                done.push(format!("[:w {k} {next}]"));
            } else {
                let seen = regs.get(&k).map_or("nil".to_string(), u64::to_string);
                invoke.push(format!("[:r {k} nil]"));
                done.push(format!("[:r {k} {seen}]"));
            }
        }
        let p = t % 10;
        out.push_str(&format!(
            "{{:process {p} :type :invoke :f :txn :value [{}]}}\n\
             {{:process {p} :type :ok :f :txn :value [{}]}}\n",
            invoke.join(" "),
            done.join(" ")
        ));
    }
    out
}

fn main() {
    let text = rw_history(100_000, 10_000, 5);
    let start = Instant::now();
    let ops = read_with(&text, Format::Edn, Semantics::Porcupine).expect("a well-formed history");
    let parse = start.elapsed().as_secs_f64();
    for (what, assume) in [
        ("the initial state only", Assume::default()),
        (
            "writes follow reads",
            Assume {
                wfr: true,
                ..Assume::default()
            },
        ),
        (
            "writes follow reads, sequential and linearizable keys",
            Assume {
                wfr: true,
                sequential_keys: true,
                linearizable_keys: true,
            },
        ),
    ] {
        let start = Instant::now();
        let checked =
            check_rw_register(&ops, Orders::default(), assume).expect("rw-register transactions");
        let check = start.elapsed().as_secs_f64();
        assert!(
            checked.valid(),
            "{:?} {:?}",
            checked.findings,
            checked.cycles
        );
        println!(
            "txn: {} rw-register transactions ({:.1} MiB of EDN) parsed in {:.0} ms, checked assuming {what} in {:.0} ms ({} edges)",
            checked.txns.len(),
            text.len() as f64 / (1024.0 * 1024.0),
            parse * 1e3,
            check * 1e3,
            checked.edges.len()
        );
        assert!(
            check < 10.0,
            "100,000 transactions must check in under 10 s: {check:.1} s"
        );
    }
    for skew in [false, true] {
        let text = history(100_000, 10_000, 21, skew);
        let start = Instant::now();
        let ops =
            read_with(&text, Format::Edn, Semantics::Porcupine).expect("a well-formed history");
        let parse = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let checked = check_list_append(&ops).expect("list-append transactions");
        let check = start.elapsed().as_secs_f64();
        let found: Vec<&str> = checked.cycles.iter().map(|c| c.anomaly.name()).collect();
        assert_eq!(checked.valid(), !skew, "{found:?}");
        println!(
            "txn: {} list-append transactions ({:.1} MiB of EDN{}) parsed in {:.0} ms, checked in {:.0} ms ({} edges, cycles: {found:?})",
            checked.txns.len(),
            text.len() as f64 / (1024.0 * 1024.0),
            if skew { ", one write skew planted" } else { "" },
            parse * 1e3,
            check * 1e3,
            checked.edges.len()
        );
        assert!(
            check < 10.0,
            "100,000 transactions must check in under 10 s: {check:.1} s"
        );
    }
}
