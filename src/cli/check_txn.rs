//! The `check-txn` subcommand: a history of transactions (Jepsen's list-append workload, in
//! EDN or clustersim's history lines) checked for Elle's dependency-cycle anomalies.

use crate::lin::formats::{self, Semantics};
use crate::registry::Registry;
use crate::txn::{check_list_append_with, Orders};
use crate::Error;
use std::path::PathBuf;

/// Flags of `check-txn`.
#[derive(clap::Args, Debug)]
pub(super) struct CheckTxnArgs {
    /// The history file: Jepsen EDN (`:f :txn` operations) or clustersim .jsonl.
    file: PathBuf,
    /// The workload the transactions come from.
    #[arg(long, default_value = "list-append", value_parser = clap::builder::PossibleValuesParser::new(["list-append"]))]
    workload: String,
    /// The file's format: clustersim, edn or jepsen-log [default: told from the text].
    #[arg(long)]
    format: Option<String>,
    /// Add each client's order of its transactions (strong-session models: G-single-process...).
    #[arg(long)]
    process: bool,
    /// Add real-time order: a transaction before every one invoked after it completed (strict
    /// models: G-single-realtime...).
    #[arg(long)]
    realtime: bool,
}

/// Cycles of one class printed whole; the rest are counted.
const CYCLES_SHOWN: usize = 5;

/// `check-txn`: exit 0 if no anomaly, 1 if one was found, 2 on bad input.
pub(super) fn cmd_check_txn(registry: &Registry, args: &CheckTxnArgs) -> Result<u8, Error> {
    let shown = args.file.display().to_string();
    let (text, format) = super::check_history::read_history(&args.file, args.format.as_deref())?;
    // Elle's reading: a read of nil is an empty list, an aborted transaction did nothing.
    let ops =
        formats::read_with(&text, format, Semantics::Porcupine).map_err(|e| Error::Parse {
            path: shown.clone(),
            line: e.line,
            col: e.col,
            message: e.message,
        })?;
    let orders = Orders {
        process: args.process,
        realtime: args.realtime,
    };
    let checked = check_list_append_with(&ops, orders)
        .map_err(|e| super::check_history::op_error(&shown, &ops, &args.workload, e))?;
    let count = |o: crate::lin::Outcome| checked.txns.iter().filter(|t| t.outcome == o).count();
    outln!(
        "{} check-txn: {shown} (format {}, workload {}, {} transactions: {} committed, {} aborted, {} unknown)",
        registry.program(),
        format.name(),
        args.workload,
        checked.txns.len(),
        count(crate::lin::Outcome::Ok),
        count(crate::lin::Outcome::Fail),
        count(crate::lin::Outcome::Info)
    );
    let kinds = |k: crate::txn::EdgeKind| checked.edges.iter().filter(|e| e.kind == k).count();
    outln!(
        "  dependencies: {} ww, {} wr, {} rw, {} process, {} realtime",
        kinds(crate::txn::EdgeKind::Ww),
        kinds(crate::txn::EdgeKind::Wr),
        kinds(crate::txn::EdgeKind::Rw),
        kinds(crate::txn::EdgeKind::Process),
        kinds(crate::txn::EdgeKind::Realtime)
    );
    for problem in &checked.incompatible {
        outln!("FAIL incompatible order: {problem}");
    }
    for problem in &checked.aborted_reads {
        outln!("FAIL G1a (rules out read-committed and stronger): {problem}");
    }
    for problem in &checked.intermediate_reads {
        outln!("FAIL G1b (rules out read-committed and stronger): {problem}");
    }
    // Every class is named with its count; the first few cycles of each are printed whole.
    let mut shown: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for cycle in &checked.cycles {
        let count = shown.entry(cycle.name()).or_default();
        *count += 1;
        if *count > CYCLES_SHOWN {
            continue;
        }
        outln!(
            "FAIL {} (rules out {}): a cycle of {} transactions:",
            cycle.name(),
            cycle.rules_out(),
            cycle.edges.len()
        );
        for line in checked.explain(cycle) {
            outln!("    {line}");
        }
    }
    for (name, count) in &shown {
        if *count > CYCLES_SHOWN {
            outln!(
                "  {name}: {count} cycles in all ({} more not shown)",
                count - CYCLES_SHOWN
            );
        }
    }
    if checked.valid() {
        outln!(
            "PASS: no G0, G1a, G1b, G1c, G-single or G2-item among {} transactions",
            checked.txns.len()
        );
        return Ok(0);
    }
    Ok(1)
}
