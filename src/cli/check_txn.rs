//! The `check-txn` subcommand: a history of transactions (Jepsen's list-append workload, in
//! EDN or clustersim's history lines) checked for Elle's dependency-cycle anomalies.

use crate::lin::formats::{self, Semantics};
use crate::registry::Registry;
use crate::txn::{Assume, EdgeKind, Isolation, Workload};
use crate::Error;
use std::path::PathBuf;

/// Flags of `check-txn`.
#[derive(clap::Args, Debug)]
pub(super) struct CheckTxnArgs {
    /// The history file: Jepsen EDN (`:f :txn` operations) or clustersim .jsonl.
    file: PathBuf,
    /// The workload the transactions come from.
    #[arg(long, default_value = "list-append", value_parser = clap::builder::PossibleValuesParser::new(Workload::NAMES))]
    workload: String,
    /// The consistency model the history must hold; anomalies it allows are reported, not failed.
    #[arg(long, default_value = "serializable", value_parser = clap::builder::PossibleValuesParser::new(Isolation::NAMES))]
    isolation: String,
    /// The file's format: clustersim, edn, jepsen-log or jepsen-json [default: told from the text].
    #[arg(long)]
    format: Option<String>,
    /// Also require each client's order (the strong-session form of the model: G-single-process...).
    #[arg(long)]
    process: bool,
    /// Also require real-time order (the strict form of the model: G-single-realtime...).
    #[arg(long)]
    realtime: bool,
    /// rw-register: assume writes follow reads within a transaction (Elle's :wfr-keys?).
    #[arg(long)]
    wfr_keys: bool,
    /// rw-register: assume each key is sequentially consistent (Elle's :sequential-keys?).
    #[arg(long)]
    sequential_keys: bool,
    /// rw-register: assume each key is linearizable (Elle's :linearizable-keys?).
    #[arg(long)]
    linearizable_keys: bool,
}

/// Cycles of one class printed whole; the rest are counted.
const CYCLES_SHOWN: usize = 5;

/// Findings of one kind printed; the rest are counted.
const FINDINGS_SHOWN: usize = 10;

/// `check-txn`: exit 0 if the history holds the model, 1 if it does not or nothing could be
/// judged, 2 on bad input.
pub(super) fn cmd_check_txn(registry: &Registry, args: &CheckTxnArgs) -> Result<u8, Error> {
    let shown = args.file.display().to_string();
    let workload = Workload::named(&args.workload).unwrap_or(Workload::ListAppend);
    let mut isolation = Isolation::named(&args.isolation).unwrap_or(Isolation {
        level: crate::txn::Level::Serializable,
        process: false,
        realtime: false,
    });
    // Real time orders each client's transactions too: the strict form is also strong-session.
    isolation.process |= args.process || args.realtime;
    isolation.realtime |= args.realtime;
    if workload == Workload::ListAppend
        && (args.wfr_keys || args.sequential_keys || args.linearizable_keys)
    {
        return Err(Error::Usage(
            "--wfr-keys, --sequential-keys and --linearizable-keys are for --workload rw-register: a list-append history's reads give its version order".into(),
        ));
    }
    let (text, format) = super::check_history::read_history(
        &args.file,
        args.format.as_deref(),
        crate::memory::DEFAULT_BUDGET,
    )?;
    // Elle's reading: a read of nil is an empty list (or never written), an aborted
    // transaction did nothing.
    let ops =
        formats::read_with(&text, format, Semantics::Porcupine).map_err(|e| Error::Parse {
            path: shown.clone(),
            line: e.line,
            col: e.col,
            message: e.message,
        })?;
    let orders = isolation.orders();
    let assume = Assume {
        wfr: args.wfr_keys,
        sequential_keys: args.sequential_keys,
        linearizable_keys: args.linearizable_keys,
    };
    let checked = crate::txn::check(workload, &ops, orders, assume)
        .map_err(|e| super::check_history::op_error(&shown, &ops, &args.workload, e))?;
    let count = |o: crate::lin::Outcome| checked.txns.iter().filter(|t| t.outcome == o).count();
    outln!(
        "{} check-txn: {shown} (format {}, workload {}, isolation {}, {} transactions: {} committed, {} aborted, {} unknown)",
        registry.program(),
        format.name(),
        workload.name(),
        isolation.name(),
        checked.txns.len(),
        count(crate::lin::Outcome::Ok),
        count(crate::lin::Outcome::Fail),
        count(crate::lin::Outcome::Info)
    );
    let kinds = |k: EdgeKind| checked.edges.iter().filter(|e| e.kind == k).count();
    outln!(
        "  dependencies: {} ww, {} wr, {} rw, {} process, {} realtime",
        kinds(EdgeKind::Ww),
        kinds(EdgeKind::Wr),
        kinds(EdgeKind::Rw),
        kinds(EdgeKind::Process),
        kinds(EdgeKind::Realtime)
    );
    let verdict = |prohibited: bool| if prohibited { "FAIL" } else { "allowed" };
    let mut per_kind: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for f in &checked.findings {
        let n = per_kind.entry(f.name).or_default();
        *n += 1;
        if *n <= FINDINGS_SHOWN {
            outln!(
                "{} {} (rules out {}): {}",
                verdict(isolation.prohibits(f.name, None)),
                f.name,
                f.rules_out(),
                f.text
            );
        }
    }
    // Every class is named with its count; the first few cycles of each are printed whole.
    let mut per_class: std::collections::BTreeMap<String, usize> =
        std::collections::BTreeMap::new();
    for cycle in &checked.cycles {
        let count = per_class.entry(cycle.name()).or_default();
        *count += 1;
        if *count > CYCLES_SHOWN {
            continue;
        }
        outln!(
            "{} {} (rules out {}): a cycle of {} transactions:",
            verdict(isolation.prohibits(cycle.anomaly.name(), cycle.order)),
            cycle.name(),
            cycle.rules_out(),
            cycle.edges.len()
        );
        for line in checked.explain(cycle) {
            outln!("    {line}");
        }
    }
    for (name, count) in &per_kind {
        if *count > FINDINGS_SHOWN {
            outln!(
                "  {name}: {count} in all ({} more not shown)",
                count - FINDINGS_SHOWN
            );
        }
    }
    for (name, count) in &per_class {
        if *count > CYCLES_SHOWN {
            outln!(
                "  {name}: {count} cycles in all ({} more not shown)",
                count - CYCLES_SHOWN
            );
        }
    }
    if !checked.satisfies(isolation) {
        let (findings, cycles) = checked.violations(isolation);
        outln!(
            "NOT {}: {} anomalies it rules out",
            isolation.name(),
            findings.len() + cycles.len()
        );
        return Ok(1);
    }
    let data_edges = kinds(EdgeKind::Ww) + kinds(EdgeKind::Wr) + kinds(EdgeKind::Rw);
    if data_edges == 0 {
        outln!(
            "INCONCLUSIVE: no dependency between the {} transactions could be inferred, so no cycle could be looked for (Elle: empty-transaction-graph)",
            checked.txns.len()
        );
        return Ok(1);
    }
    let allowed = checked.findings.len() + checked.cycles.len();
    outln!(
        "PASS: {} holds over {} transactions ({} dependencies{})",
        isolation.name(),
        checked.txns.len(),
        checked.edges.len(),
        if allowed == 0 {
            String::new()
        } else {
            format!("; {allowed} anomalies it allows")
        }
    );
    Ok(0)
}
