//! The `check-history` subcommand: a history recorded anywhere (clustersim, Jepsen EDN, a
//! Jepsen log as Porcupine's etcd files are) checked for linearizability against a model.

use crate::lin::formats::{self, Format, Semantics};
use crate::lin::{AnyModel, Operation};
use crate::memory::{Bytes, DEFAULT_BUDGET};
use crate::registry::Registry;
use crate::Error;
use std::path::PathBuf;
use std::time::Instant;

/// Flags of `check-history`.
#[derive(clap::Args, Debug)]
pub(super) struct CheckHistoryArgs {
    /// The history file: clustersim .jsonl (run --history), Jepsen/Knossos EDN, or a Jepsen log.
    file: PathBuf,
    /// The model: register, cas-register, kv, list-append, set, counter, fifo-queue, mutex,
    /// multi-register, or one the program registers.
    #[arg(long)]
    model: String,
    /// The file's format: clustersim, edn, jepsen-log or jepsen-json [default: told from the text].
    #[arg(long)]
    format: Option<String>,
    /// What `:fail` and an `:ok :read` of nil mean: knossos (did not happen; value unknown) or
    /// porcupine (a failed cas saw another value; absent) [default: edn knossos, others
    /// porcupine].
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Semantics::NAMES))]
    semantics: Option<String>,
    /// The object's value before the first operation, as JSON or EDN (e.g. 0) [default:
    /// absent, empty or 0].
    #[arg(long, value_name = "VALUE", allow_hyphen_values = true)]
    init: Option<String>,
    /// Search steps for the verdict before it is UNKNOWN.
    #[arg(long, default_value_t = crate::lin::DEFAULT_MAX_STEPS, value_parser = clap::value_parser!(u64).range(1..))]
    max_steps: u64,
    /// Search steps for the smallest failing window (0: do not look for it) [default: half as
    /// many as the verdict took; the window starts from the shortest failing prefix the verdict
    /// found, so a verdict with its window costs less than Porcupine's verdict alone].
    #[arg(long, value_name = "N")]
    window_steps: Option<u64>,
    /// Stop with an error once the history and the search would hold more than this
    /// (default: 2GiB, as for a run).
    #[arg(long, value_name = "SIZE", value_parser = super::run::parse_bytes, allow_hyphen_values = true)]
    max_memory: Option<Bytes>,
}

/// `check-history`: exit 0 if linearizable, 1 if not (or undecided), 2 on bad input.
pub(super) fn cmd_check_history(registry: &Registry, args: &CheckHistoryArgs) -> Result<u8, Error> {
    let program = registry.program();
    let models = registry.models();
    if !models.knows(&args.model) {
        return Err(Error::Usage(format!(
            "unknown model `{}`; valid models: {}",
            args.model,
            models.names().join(", ")
        )));
    }
    let shown = args.file.display().to_string();
    let budget = args.max_memory.unwrap_or(DEFAULT_BUDGET);
    let (text, format) = read_history(&args.file, args.format.as_deref(), budget)?;
    let semantics = match &args.semantics {
        Some(name) => Semantics::named(name).ok_or_else(|| {
            Error::Usage(format!(
                "unknown semantics `{name}`; valid: {}",
                Semantics::NAMES.join(", ")
            ))
        })?,
        None => format.semantics(),
    };
    let ops = formats::read_with(&text, format, semantics).map_err(|e| Error::Parse {
        path: shown.clone(),
        line: e.line,
        col: e.col,
        message: e.message,
    })?;
    let init = match &args.init {
        Some(t) => Some(parse_value(t)?),
        None => None,
    };
    let model = models
        .build(&args.model, init.as_ref())
        .map_err(|message| Error::Usage(format!("--init for model {}: {message}", args.model)))?;
    // What the text and the operations read from it hold already (a rough upper bound per
    // operation: its JSON values and names); the search may use the rest.
    let held =
        (text.len() as u64).saturating_add((ops.len() as u64).saturating_mul(OPERATION_BYTES));
    let Some(search_bytes) = budget.0.checked_sub(held) else {
        return Err(out_of_memory(&shown, budget, "reading the history"));
    };
    outln!(
        "{program} check-history: {shown} (format {}, semantics {}, model {}, {} operations)",
        format.name(),
        semantics.name(),
        args.model,
        ops.len()
    );
    outln!("  semantics {}: {}", semantics.name(), semantics.meaning());
    let what = format!("model {}", args.model);
    let bad_op = |e: crate::lin::ModelError| op_error(&shown, &ops, &what, e);
    match run(model.as_ref(), &ops, args, search_bytes) {
        Ok(Some(code)) => Ok(code),
        Ok(None) => Err(out_of_memory(&shown, budget, "the linearizability search")),
        Err(e) => Err(bad_op(e)),
    }
}

/// Bytes one operation read from a history holds, about (its values, names and positions).
const OPERATION_BYTES: u64 = 512;

/// The error for a check that would outgrow `--max-memory`, naming the knob.
fn out_of_memory(shown: &str, budget: Bytes, what: &str) -> Error {
    Error::Invalid {
        path: shown.to_string(),
        message: format!(
            "{what} would hold more than the memory budget ({budget}); raise --max-memory, or \
             check a shorter history (split it by key or by time)"
        ),
    }
}

/// The memory budget's share a history file's text may take: the operations read from it
/// take several times its size, and the check needs room too. With the default budget (2 GiB)
/// a file of up to 128 MiB is read (a 100,000-operation Jepsen EDN history is about 20 MiB); a
/// larger one (or an endless one, `/dev/zero`) is refused before it can fill memory.
const INPUT_SHARE: u64 = 16;

/// The most bytes of a history file read within the memory budget `budget`.
pub(super) fn input_cap(budget: Bytes) -> u64 {
    (budget.0 / INPUT_SHARE).max(crate::scenario::MAX_FILE_BYTES)
}

/// The error for an operation `what` (a model, a workload) cannot read: at its line and
/// column when it names one.
pub(super) fn op_error(
    shown: &str,
    ops: &[Operation],
    what: &str,
    e: crate::lin::ModelError,
) -> Error {
    match e.op.and_then(|i| ops.get(i)) {
        Some(op) => Error::Parse {
            path: shown.to_string(),
            line: op.line,
            col: op.col,
            message: format!("{what}: {}", e.message),
        },
        None => Error::Invalid {
            path: shown.to_string(),
            message: e.message,
        },
    }
}

/// A history file's text (capped, UTF-8) and its format: `format` by name, or detected from
/// the text.
pub(super) fn read_history(
    path: &std::path::Path,
    format: Option<&str>,
    budget: Bytes,
) -> Result<(String, Format), Error> {
    let shown = path.display().to_string();
    let bytes = read_capped(path, input_cap(budget))?;
    let text = String::from_utf8(bytes).map_err(|e| Error::Invalid {
        path: shown.clone(),
        message: format!(
            "not UTF-8 text (byte {} is not); a history is a text file",
            e.utf8_error().valid_up_to()
        ),
    })?;
    let format = match format {
        Some(name) => Format::named(name).ok_or_else(|| {
            Error::Usage(format!(
                "unknown format `{name}`; valid formats: {}",
                Format::NAMES.join(", ")
            ))
        })?,
        None => match Format::detect(&text) {
            Some(format) => format,
            // An empty history (blank lines and comments) has no line to tell its format by,
            // and needs none: every format reads it as no operations. Its extension names it for the report.
            None if text
                .lines()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with(';')) =>
            {
                match path.extension().and_then(|e| e.to_str()) {
                    Some("edn") => Format::Edn,
                    Some("log") => Format::JepsenLog,
                    _ => Format::Clustersim,
                }
            }
            None => {
                return Err(Error::Invalid {
                    path: shown,
                    message: format!(
                        "cannot tell the format from the first line; pass --format ({})",
                        Format::NAMES.join(", ")
                    ),
                })
            }
        },
    };
    Ok((text, format))
}

/// The file's bytes, at most `cap` of them.
pub(super) fn read_capped(path: &std::path::Path, cap: u64) -> Result<Vec<u8>, Error> {
    use std::io::Read as _;
    let shown = path.display().to_string();
    let io = |e: std::io::Error| Error::Io {
        path: shown.clone(),
        message: format!("cannot read history: {e}"),
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > cap {
        return Err(Error::Invalid {
            path: shown,
            message: format!(
                "the history is larger than {} MiB, a 1/{INPUT_SHARE} share of the memory budget; raise --max-memory or check it in parts (by key or by time)",
                cap / (1024 * 1024)
            ),
        });
    }
    Ok(bytes)
}

/// A value written as JSON or EDN.
fn parse_value(text: &str) -> Result<serde_json::Value, Error> {
    if let Ok(v) = serde_json::from_str(text) {
        return Ok(v);
    }
    match crate::lin::edn::Reader::new(text).next_value() {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(Error::Usage(
            "--init is empty; give a JSON or EDN value".into(),
        )),
        Err(e) => {
            let shown: String = text.chars().take(60).collect();
            let more = if shown.len() < text.len() { "..." } else { "" };
            Err(Error::Usage(format!(
                "--init `{shown}{more}` is not a JSON or EDN value (column {}: {})",
                e.col, e.message
            )))
        }
    }
}

/// Checks `ops` against the model, prints the verdict and (on failure) the smallest window;
/// `None` when the search would hold more than `max_bytes`.
fn run(
    model: &dyn AnyModel,
    ops: &[Operation],
    args: &CheckHistoryArgs,
    max_bytes: u64,
) -> Result<Option<u8>, crate::lin::ModelError> {
    let started = Instant::now();
    let checked = model.judge(ops, args.max_steps, max_bytes)?;
    if checked.out_of_memory {
        return Ok(None);
    }
    let verdict_time = started.elapsed();
    let many = checked.partitions.len() > 1;
    if many {
        for p in &checked.partitions {
            let what = match p.linearizable {
                Some(true) => "linearizable",
                Some(false) => "NOT linearizable",
                None => "undecided (budget spent)",
            };
            outln!("  key {}: {what} ({} operations)", p.key, p.ops);
        }
    }
    let checked_ops = checked.ops();
    let timing = format!(
        "{:.1} ms, {} search steps",
        verdict_time.as_secs_f64() * 1e3,
        checked.steps
    );
    if let Some(key) = &checked.failing {
        let shown = if key.is_empty() {
            String::new()
        } else {
            format!("key {key} ")
        };
        outln!("FAIL Linearizable: {shown}has no linearization (verdict in {timing})");
        let window_steps = args
            .window_steps
            .unwrap_or_else(|| crate::lin::window_budget(checked.steps));
        if window_steps > 0 {
            let started = Instant::now();
            let window =
                model.failing_window_after(ops, key, checked.frontier, window_steps, max_bytes)?;
            let cost = format!(
                "{:.1} ms, {} search steps",
                started.elapsed().as_secs_f64() * 1e3,
                window.steps
            );
            if window.smallest {
                outln!(
                    "  smallest failing window: {} operations (found in {cost}); no order of them fits the model:",
                    window.ops.len()
                );
            } else {
                outln!(
                    "  failing window: {} operations, not narrowed further within {window_steps} steps ({cost}; {}); no order of them fits the model:",
                    window.ops.len(),
                    if args.window_steps.is_some() {
                        "raise --window-steps for the smallest"
                    } else {
                        "half the verdict's steps: raise --window-steps for the smallest"
                    }
                );
            }
            let stuck = window.stuck;
            let mut window = window.ops;
            window.sort_by_key(|&i| ops[i].call);
            for i in window {
                outln!("    {}", ops[i].describe());
            }
            if let Some(stuck) = stuck {
                for line in crate::lin::explain_lines(&stuck, &args.model, |i| ops[i].describe()) {
                    outln!("  {line}");
                }
            }
        }
        return Ok(Some(1));
    }
    if let Some(p) = checked.undecided() {
        outln!(
            "UNKNOWN Linearizable: the search gave up on {} ({} operations) after {} steps; raise --max-steps",
            if p.key.is_empty() { "the history".to_string() } else { format!("key {}", p.key) },
            p.ops,
            args.max_steps
        );
        return Ok(Some(1));
    }
    if checked_ops == 0 {
        // Nothing constrains the model: every order fits, as Knossos and Porcupine say too.
        let why = if ops.is_empty() {
            "the history has 0 operations".to_string()
        } else {
            format!(
                "0 of {} operations constrain the model: each failed, or its result is unknown",
                ops.len()
            )
        };
        outln!("PASS Linearizable: nothing to check ({why}), so the history is linearizable");
        return Ok(Some(0));
    }
    outln!(
        "PASS Linearizable: {checked_ops} operations{} are linearizable ({timing})",
        if many {
            format!(" on {} keys", checked.partitions.len())
        } else {
            String::new()
        }
    );
    Ok(Some(0))
}
