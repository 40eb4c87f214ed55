//! Reading recorded histories into `Operation`s: clustersim's JSON lines (`run --history`),
//! Jepsen and Knossos EDN (`{:type :invoke, :f :write, :value 3, :process 0}`, one map after
//! another, in a vector, or as `#jepsen.history.Op{...}` records), and the Jepsen log lines
//! Porcupine's etcd histories use (`INFO jepsen.util - 3 :invoke :read nil`, fields separated
//! by any whitespace). The format is told from the text, or forced. Every line is read or
//! refused with its line and column: nothing is skipped but blank lines, comments and the
//! nemesis's notes.
//!
//! What a `:fail` and a `nil` read mean is the file's `Semantics`: Knossos's (a failed operation
//! did not happen, a read of `nil` returned an unknown value) or Porcupine's etcd convention (a
//! failed cas is a compare that failed: an observation; a read of `nil` found the key absent).
//! In clustersim's own histories a failed operation always did nothing and a failed compare is
//! its own completion (`CasFailed`); there the choice changes only what a `null` read means.

use super::edn::{self, name_of, show, Reader};
use super::model::{Operation, Outcome};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// A history file format.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// clustersim's `.jsonl` history: one entry per line with `phase`, `op_id` and `data`.
    Clustersim,
    /// Jepsen / Knossos EDN operation maps.
    Edn,
    /// Jepsen log lines: process, type, f and value separated by tabs or spaces.
    JepsenLog,
    /// Jepsen operations as JSON objects (`{"process": 0, "type": "invoke", "f": "txn",
    /// ...}`), in one array or one per line, as elle-cli and Knossos's command line read them.
    JepsenJson,
}

impl Format {
    /// The names `--format` accepts.
    pub const NAMES: [&'static str; 4] = ["clustersim", "edn", "jepsen-log", "jepsen-json"];

    /// The format called `name`.
    pub fn named(name: &str) -> Option<Format> {
        match name {
            "clustersim" | "jsonl" => Some(Format::Clustersim),
            "edn" | "jepsen" | "knossos" => Some(Format::Edn),
            "jepsen-log" | "log" | "porcupine" => Some(Format::JepsenLog),
            "jepsen-json" | "json" => Some(Format::JepsenJson),
            _ => None,
        }
    }

    /// The format's name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Clustersim => "clustersim",
            Format::Edn => "edn",
            Format::JepsenLog => "jepsen-log",
            Format::JepsenJson => "jepsen-json",
        }
    }

    /// What the format's origin means by `:fail` and a `nil` read: Knossos's for Jepsen EDN,
    /// Porcupine's for Jepsen logs (Porcupine's etcd files are logs) and for clustersim's own
    /// histories (a `null` read found nothing).
    pub fn semantics(self) -> Semantics {
        match self {
            Format::Edn | Format::JepsenJson => Semantics::Knossos,
            Format::JepsenLog | Format::Clustersim => Semantics::Porcupine,
        }
    }

    /// The format of `text`, told from its first line that is not blank or an EDN comment.
    pub fn detect(text: &str) -> Option<Format> {
        let text = without_bom(text);
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with(';'))?;
        let json_op = |l: &str| l.starts_with("{\"") && !l.contains("\"phase\"");
        if json_op(first)
            || first
                .strip_prefix('[')
                .is_some_and(|l| json_op(l.trim_start()))
        {
            Some(Format::JepsenJson)
        } else if first.starts_with("{\"") {
            Some(Format::Clustersim)
        } else if first.starts_with(['{', '[', '(', '#']) {
            // A map, a vector or list of them, a tagged record (`#jepsen.history.Op{...}`).
            Some(Format::Edn)
        } else if log_fields(first).is_some() {
            Some(Format::JepsenLog)
        } else {
            None
        }
    }
}

/// How `:fail` and a read of `nil` are read.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Semantics {
    /// Knossos: a `:fail`ed operation did not happen; `:ok :read nil` returned a value not
    /// known (it constrains nothing).
    Knossos,
    /// Porcupine's etcd convention: `:fail :cas` is a compare that failed (the register held
    /// something else); `:ok :read nil` found the register absent.
    Porcupine,
}

impl Semantics {
    /// The names `--semantics` accepts.
    pub const NAMES: [&'static str; 2] = ["knossos", "porcupine"];

    /// The semantics called `name`.
    pub fn named(name: &str) -> Option<Semantics> {
        match name {
            "knossos" => Some(Semantics::Knossos),
            "porcupine" => Some(Semantics::Porcupine),
            _ => None,
        }
    }

    /// The semantics' name.
    pub fn name(self) -> &'static str {
        match self {
            Semantics::Knossos => "knossos",
            Semantics::Porcupine => "porcupine",
        }
    }

    /// What it means, in a few words (for reports).
    pub fn meaning(self) -> &'static str {
        match self {
            Semantics::Knossos => "a failed op did not happen; a nil read is unknown",
            Semantics::Porcupine => "a failed cas saw another value; a nil read is absent",
        }
    }
}

/// `text` without a leading UTF-8 byte order mark (some editors write one).
fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// A problem at a line of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (1 when only the line is known).
    pub col: usize,
    /// What was expected.
    pub message: String,
}

fn at(line: usize, message: impl Into<String>) -> FormatError {
    at_col(line, 1, message)
}

fn at_col(line: usize, col: usize, message: impl Into<String>) -> FormatError {
    FormatError {
        line,
        col,
        message: message.into(),
    }
}

/// Reads `text` in `format` into operations, in the order of their calls, with the format's
/// own semantics (`Format::semantics`).
pub fn read(text: &str, format: Format) -> Result<Vec<Operation>, FormatError> {
    read_with(text, format, format.semantics())
}

/// Reads `text` in `format` into operations, reading `:fail` and `nil` reads as `semantics`
/// says.
pub fn read_with(
    text: &str,
    format: Format,
    semantics: Semantics,
) -> Result<Vec<Operation>, FormatError> {
    let text = without_bom(text);
    let mut ops = match format {
        Format::Clustersim => read_clustersim(text)?,
        Format::Edn => read_edn(text, semantics)?,
        Format::JepsenLog => read_log(text, semantics)?,
        Format::JepsenJson => read_jepsen_json(text, semantics)?,
    };
    if semantics == Semantics::Knossos {
        for op in &mut ops {
            unknown_nil_reads(op);
        }
    }
    Ok(ops)
}

/// Knossos's reading of a completed read of `nil`: its value is not known. A register read
/// loses its result; a transaction (Knossos's multi-register) loses its `[:read k nil]` steps.
fn unknown_nil_reads(op: &mut Operation) {
    if op.outcome != Outcome::Ok {
        return;
    }
    match op.f.as_str() {
        "read" => {
            let unknown = match (&op.result, &op.value) {
                (Some(Json::Null), _) => true,
                // An independent key's read, `[key nil]`.
                (Some(Json::Array(r)), Json::Array(v)) => {
                    r.len() == 2 && v.len() == 2 && r[0] == v[0] && r[1].is_null()
                }
                _ => false,
            };
            if unknown {
                op.result = None;
            }
        }
        "txn" => {
            if let Some(Json::Array(steps)) = &mut op.result {
                steps.retain(|s| match s {
                    Json::Array(step) if step.len() == 3 => {
                        !(step[2].is_null() && name_of(&step[0]) == Some("read"))
                    }
                    _ => true,
                });
            }
        }
        _ => {}
    }
}

/// One event of a Jepsen-style history: a process invoking or completing an operation.
struct Event {
    process: String,
    kind: String,
    f: String,
    key: Option<Json>,
    value: Json,
    line: usize,
    col: usize,
}

/// Pairs invocations with the next completion of the same process.
fn pair(events: Vec<Event>, semantics: Semantics) -> Result<Vec<Operation>, FormatError> {
    let mut ops: Vec<Operation> = Vec::new();
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    for (pos, e) in events.into_iter().enumerate() {
        match e.kind.as_str() {
            "invoke" => {
                if let Some(prev) = open.insert(e.process.clone(), ops.len()) {
                    // A process that invokes again without completing: the first is unknown.
                    ops[prev].outcome = Outcome::Info;
                }
                ops.push(Operation {
                    process: e.process,
                    f: normalise(&e.f),
                    key: e.key,
                    value: e.value,
                    result: None,
                    outcome: Outcome::Info,
                    call: pos,
                    ret: None,
                    line: e.line,
                    col: e.col,
                });
            }
            "ok" | "fail" | "info" => {
                let Some(i) = open.remove(&e.process) else {
                    if e.kind == "info" {
                        // Jepsen writes nemesis and crash notes as info without an invoke.
                        continue;
                    }
                    return Err(at_col(
                        e.line,
                        e.col,
                        format!(
                            "process {} completes an operation it never invoked",
                            e.process
                        ),
                    ));
                };
                let op = &mut ops[i];
                match e.kind.as_str() {
                    "ok" => {
                        op.outcome = Outcome::Ok;
                        op.result = Some(e.value);
                        op.ret = Some(pos);
                    }
                    "fail" => {
                        op.outcome = Outcome::Fail;
                        op.ret = Some(pos);
                        op.result = match semantics {
                            // Porcupine's etcd model: the cas's compare failed, an observation.
                            Semantics::Porcupine if op.f == "cas" => Some(Json::Bool(false)),
                            Semantics::Porcupine => Some(e.value),
                            // Knossos: it did not happen, and says nothing.
                            Semantics::Knossos => None,
                        };
                    }
                    _ => op.outcome = Outcome::Info,
                }
            }
            other => {
                return Err(at_col(
                    e.line,
                    e.col,
                    format!("unknown operation type `{other}`; expected invoke, ok, fail or info"),
                ))
            }
        }
    }
    Ok(ops)
}

/// Jepsen's words for an operation, in the models' vocabulary.
fn normalise(f: &str) -> String {
    match f {
        "r" | "get" => "read",
        "w" | "put" | "set" => "write",
        "compare-and-set" => "cas",
        "enq" => "enqueue",
        "deq" => "dequeue",
        other => other,
    }
    .to_string()
}

fn text_of(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// True for a transaction's value: a non-empty list of micro-operations, each a list that
/// starts with `:r`, `:w` or `:append`.
fn is_transaction(value: &Json) -> bool {
    let Json::Array(steps) = value else {
        return false;
    };
    !steps.is_empty()
        && steps.iter().all(|step| match step {
            Json::Array(parts) => parts
                .first()
                .and_then(name_of)
                .is_some_and(|f| matches!(f, "r" | "w" | "append")),
            _ => false,
        })
}

/// True for the nemesis's process (`:nemesis`), whose notes are not operations.
fn is_nemesis(process: &Json) -> bool {
    name_of(process) == Some("nemesis")
}

/// The event an operation map (EDN or JSON) stands for; `None` for the nemesis's notes.
fn event_of(v: Json, line: usize, col: usize) -> Result<Option<Event>, String> {
    let Json::Object(mut m) = v else {
        return Err(format!(
            "expected an operation map ({{:process 0 :type :invoke :f :read :value nil}}), found {}",
            show(&v)
        ));
    };
    let process = m.get("process").unwrap_or(&Json::Null);
    if is_nemesis(process) {
        return Ok(None);
    }
    if process.is_null() {
        return Err("an operation map needs :process (the client that ran it)".into());
    }
    let process = show(process);
    let field = |k: &str| m.get(k).and_then(name_of).map(str::to_string);
    // Elle reads a map without :f as a transaction when its value is one (Elle's own
    // `histories/paper-example.edn` has none), so a transaction needs no :f here either.
    let f = field("f")
        .or_else(|| is_transaction(m.get("value").unwrap_or(&Json::Null)).then(|| "txn".into()));
    let (Some(kind), Some(f)) = (field("type"), f) else {
        return Err(
            "an operation map needs :type (:invoke, :ok, :fail or :info) and :f (a keyword; \
             a transaction, whose :value is a list of [:r k v], [:w k v] or [:append k v], \
             may leave it out)"
                .into(),
        );
    };
    Ok(Some(Event {
        process,
        kind,
        f,
        key: m.remove("key").filter(|k| !k.is_null()),
        value: m.remove("value").unwrap_or(Json::Null),
        line,
        col,
    }))
}

fn read_edn(text: &str, semantics: Semantics) -> Result<Vec<Operation>, FormatError> {
    let mut events = Vec::new();
    let mut push = |v: Json, line: usize, col: usize| -> Result<(), edn::EdnError> {
        let event =
            event_of(v, line, col).map_err(|message| edn::EdnError { line, col, message })?;
        events.extend(event);
        Ok(())
    };
    Reader::new(text)
        .each_top_level(&mut push)
        .map_err(|e| at_col(e.line, e.col, e.message))?;
    pair(events, semantics)
}

/// Jepsen operations as JSON objects: one array of them, or one or more per line.
fn read_jepsen_json(text: &str, semantics: Semantics) -> Result<Vec<Operation>, FormatError> {
    // Lines counted once, from where the last position was asked (positions only grow).
    let lines = std::cell::Cell::new((0usize, 1usize, 0usize)); // (byte, line, line start)
    let position = |at: usize| {
        let (from, mut line, mut start) = lines.get();
        for (i, b) in text.as_bytes()[from..at].iter().enumerate() {
            if *b == b'\n' {
                line += 1;
                start = from + i + 1;
            }
        }
        lines.set((at, line, start));
        (line, text[start..at].chars().count() + 1)
    };
    let fail = |at: usize, message: String| {
        let (line, col) = position(at);
        at_col(line, col, message)
    };
    // Past whitespace (and, inside an array, one comma) from byte `at`.
    let skip = |mut at: usize, comma: bool| {
        let bytes = text.as_bytes();
        let mut seen_comma = !comma;
        while at < bytes.len() {
            match bytes[at] {
                b' ' | b'\t' | b'\r' | b'\n' => at += 1,
                b',' if !seen_comma => {
                    seen_comma = true;
                    at += 1
                }
                _ => break,
            }
        }
        at
    };
    let mut at = skip(0, false);
    let array = text[at..].starts_with('[');
    if array {
        at = skip(at + 1, false);
    }
    let mut events = Vec::new();
    let mut first = true;
    loop {
        if array && text[at..].starts_with(']') {
            let end = skip(at + 1, false);
            if end < text.len() {
                return Err(fail(
                    end,
                    "nothing may follow the array of operations".into(),
                ));
            }
            break;
        }
        if at >= text.len() {
            if array {
                return Err(fail(
                    at,
                    "the array of operations is not closed with `]`".into(),
                ));
            }
            break;
        }
        if array && !first {
            if !text[at..].starts_with(',') {
                return Err(fail(at, "expected `,` or `]` after an operation".into()));
            }
            at = skip(at, true);
        }
        let mut stream = serde_json::Deserializer::from_str(&text[at..]).into_iter::<Json>();
        let value = match stream.next() {
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                let (line, col) = position(at);
                let (line, col) = if e.line() == 1 {
                    (line, col + e.column().saturating_sub(1))
                } else {
                    (line + e.line() - 1, e.column())
                };
                let what = e.to_string();
                let what = what.rfind(" at line ").map_or(&what[..], |i| &what[..i]);
                return Err(at_col(line, col, format!("not a JSON operation: {what}")));
            }
            None => return Err(fail(at, "expected an operation".into())),
        };
        let (line, col) = position(at);
        events.extend(event_of(value, line, col).map_err(|m| at_col(line, col, m))?);
        at = skip(at + stream.byte_offset(), false);
        first = false;
    }
    pair(events, semantics)
}

/// The operation types a Jepsen log line may carry.
const KINDS: [&str; 4] = [":invoke", ":ok", ":fail", ":info"];

/// The fields of a Jepsen log line, each with the byte it starts at.
struct LogFields<'a> {
    process: (usize, &'a str),
    kind: (usize, &'a str),
    f: (usize, &'a str),
    value: (usize, &'a str),
}

/// The fields of a Jepsen log line: process, type, f and the value's text, each separated
/// from the next by any whitespace; whatever comes before the process (the logger's
/// `INFO jepsen.util -`) is ignored. `None` if the line has no operation type after a process.
fn log_fields(line: &str) -> Option<LogFields<'_>> {
    let mut tokens: Vec<(usize, &str)> = Vec::with_capacity(8);
    let mut start = None;
    for (i, c) in line
        .char_indices()
        .chain(std::iter::once((line.len(), ' ')))
    {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                tokens.push((s, &line[s..i]));
                start = None;
                if tokens.len() >= 2 && KINDS.contains(&tokens[tokens.len() - 1].1) {
                    break;
                }
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    let k = tokens.iter().position(|(_, t)| KINDS.contains(t))?;
    if k == 0 {
        return None;
    }
    let kind = tokens[k];
    let after = kind.0 + kind.1.len();
    let f_from = after + (line[after..].len() - line[after..].trim_start().len());
    let f_len = line[f_from..]
        .find(char::is_whitespace)
        .unwrap_or(line.len() - f_from);
    let value_from = f_from + f_len;
    let rest = &line[value_from..];
    let value_at = value_from + (rest.len() - rest.trim_start().len());
    Some(LogFields {
        process: tokens[k - 1],
        kind,
        f: (f_from, &line[f_from..value_from]),
        value: (value_at, line[value_at..].trim_end()),
    })
}

/// The 1-based character column of byte `at` of `line`.
fn column(line: &str, at: usize) -> usize {
    line.char_indices().take_while(|&(i, _)| i < at).count() + 1
}

fn read_log(text: &str, semantics: Semantics) -> Result<Vec<Operation>, FormatError> {
    const EXPECTED: &str = "expected a Jepsen log line, `process :type :f value` (e.g. \
        `INFO jepsen.util - 3 :invoke :read nil`, fields separated by tabs or spaces); keep only \
        the operation lines (grep jepsen.util)";
    let mut events = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let Some(fields) = log_fields(raw) else {
            return Err(at(line, EXPECTED));
        };
        let (process_at, process) = fields.process;
        let kind = fields.kind.1;
        if process == ":nemesis" {
            continue;
        }
        let (f_at, f) = fields.f;
        let Some(f) = f.strip_prefix(':').filter(|f| !f.is_empty()) else {
            return Err(at_col(
                line,
                column(raw, f_at),
                format!("expected the operation's name (a keyword such as :read) after {kind}"),
            ));
        };
        let value_text = fields.value.1;
        let value = if value_text.is_empty() {
            Json::Null
        } else {
            // The reader skips a byte order mark; its offsets count from after it.
            let value_text = value_text.strip_prefix('\u{feff}').unwrap_or(value_text);
            let value_at = fields.value.0 + (fields.value.1.len() - value_text.len());
            let mut reader = Reader::new(value_text);
            let here = |e: edn::EdnError| {
                at_col(
                    line,
                    column(raw, value_at) + e.col - 1,
                    format!("value `{value_text}`: {}", e.message),
                )
            };
            let v = reader.next_value().map_err(here)?.unwrap_or(Json::Null);
            let after = reader.offset();
            if after < value_text.len() {
                return Err(at_col(
                    line,
                    column(raw, value_at + after),
                    format!(
                        "expected one value after {kind} :{f}, found more: `{}`",
                        &value_text[after..]
                    ),
                ));
            }
            v
        };
        events.push(Event {
            process: process.to_string(),
            kind: kind[1..].to_string(),
            f: f.to_string(),
            key: None,
            value,
            line,
            col: column(raw, process_at),
        });
    }
    pair(events, semantics)
}

/// One history entry as clustersim writes it: phase, op id, node, position, the op's JSON.
struct EntryFields<'a> {
    line: usize,
    phase: &'a str,
    op_id: u64,
    node: String,
    pos: usize,
    data: &'a Json,
}

/// Joins clustersim history entries into operations, call and completion by op id.
#[derive(Default)]
struct Joiner {
    ops: Vec<Operation>,
    open: BTreeMap<u64, usize>,
}

impl Joiner {
    fn push(&mut self, e: EntryFields<'_>) -> Result<(), FormatError> {
        let (f, key, value, result) = fields_of(e.data);
        match e.phase {
            "Event" => {}
            "Invoke" => {
                self.open.insert(e.op_id, self.ops.len());
                self.ops.push(Operation {
                    process: e.node,
                    f,
                    key,
                    value,
                    result: None,
                    outcome: Outcome::Info,
                    call: e.pos,
                    ret: None,
                    line: e.line,
                    col: 1,
                });
            }
            "Ok" | "Fail" | "Info" => {
                let Some(&i) = self.open.get(&e.op_id) else {
                    return Err(at(
                        e.line,
                        format!("op_id {} completes before it is invoked", e.op_id),
                    ));
                };
                let op = &mut self.ops[i];
                if e.phase != "Info" && e.pos <= op.call {
                    return Err(at(
                        e.line,
                        format!(
                            "op_id {} completes at index {}, not after its invocation at index {} (line {})",
                            e.op_id, e.pos, op.call, op.line
                        ),
                    ));
                }
                op.outcome = match e.phase {
                    "Ok" => Outcome::Ok,
                    "Fail" => Outcome::Fail,
                    _ => Outcome::Info,
                };
                if e.phase != "Info" {
                    op.ret = Some(e.pos);
                    op.result = result;
                }
            }
            other => {
                return Err(at(
                    e.line,
                    format!("unknown phase `{other}`; expected Invoke, Ok, Fail, Info or Event"),
                ))
            }
        }
        Ok(())
    }
}

fn read_clustersim(text: &str) -> Result<Vec<Operation>, FormatError> {
    let mut joiner = Joiner::default();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let entry: Json = serde_json::from_str(raw).map_err(|e| FormatError {
            line,
            col: e.column(),
            message: format!("not a JSON history line: {e}"),
        })?;
        let Some(op_id) = entry["op_id"].as_u64() else {
            return Err(at(line, "a history line needs `op_id`"));
        };
        let Some(data) = entry.get("data") else {
            return Err(at(
                line,
                "a history line needs `data` (the operation's fields; written by clustersim run --history)",
            ));
        };
        joiner.push(EntryFields {
            line,
            phase: entry["phase"].as_str().unwrap_or_default(),
            op_id,
            node: text_of(&entry["node"]),
            pos: entry["index"].as_u64().map_or(i, |x| x as usize),
            data,
        })?;
    }
    Ok(joiner.ops)
}

/// A run's history as operations, exactly as `check-history` reads its `--history` file.
pub fn from_history(history: &crate::history::History, names: &[String]) -> Vec<Operation> {
    let mut joiner = Joiner::default();
    for e in history.entries() {
        let data = serde_json::to_value(&e.op).unwrap_or(Json::Null);
        let phase = format!("{:?}", e.phase);
        let node = names
            .get(e.node.index())
            .cloned()
            .unwrap_or_else(|| e.node.to_string());
        // A run's own history pairs every completion with its call: nothing can be refused.
        let _ = joiner.push(EntryFields {
            line: e.index + 1,
            phase: &phase,
            op_id: e.op_id.0,
            node,
            pos: e.index,
            data: &data,
        });
    }
    joiner.ops
}

/// (f, key, value, result) of a clustersim operation's JSON (`{"Put":{"key":0,"value":3}}`).
fn fields_of(data: &Json) -> (String, Option<Json>, Json, Option<Json>) {
    let Some((name, body)) = data.as_object().and_then(|m| m.iter().next()) else {
        return (text_of(data), None, Json::Null, None);
    };
    let field = |k: &str| body.get(k).cloned().unwrap_or(Json::Null);
    match name.as_str() {
        "Put" => ("write".into(), Some(field("key")), field("value"), None),
        "Get" => (
            "read".into(),
            Some(field("key")),
            Json::Null,
            Some(field("value")),
        ),
        "Cas" => (
            "cas".into(),
            Some(field("key")),
            Json::Array(vec![field("from"), field("to")]),
            None,
        ),
        "CasFailed" => (
            "cas".into(),
            Some(field("key")),
            Json::Array(vec![field("from"), field("to")]),
            Some(Json::Bool(false)),
        ),
        "Enqueue" => ("enqueue".into(), None, field("task"), None),
        "Custom" => {
            let v = field("value");
            let name = text_of(&field("name"));
            match v.as_object() {
                Some(m) if m.contains_key("key") => {
                    let inner = m.get("value").cloned().unwrap_or(Json::Null);
                    (name, m.get("key").cloned(), inner.clone(), Some(inner))
                }
                _ => (name, None, v.clone(), Some(v)),
            }
        }
        other => (other.to_lowercase(), None, body.clone(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_apart() {
        assert_eq!(
            Format::detect("{\"index\":0,\"phase\":\"Invoke\"}"),
            Some(Format::Clustersim)
        );
        assert_eq!(
            Format::detect("{:type :invoke, :f :read}"),
            Some(Format::Edn)
        );
        assert_eq!(
            Format::detect("INFO  jepsen.util - 1\t:invoke\t:read\tnil"),
            Some(Format::JepsenLog)
        );
        assert_eq!(Format::detect("hello"), None);
        assert_eq!(
            Format::detect("INFO  jepsen.util - 1   :invoke :read  nil"),
            Some(Format::JepsenLog)
        );
        assert_eq!(
            Format::detect("3 :invoke :read nil"),
            Some(Format::JepsenLog)
        );
        assert_eq!(
            Format::detect("#jepsen.history.Op{:index 0, :type :invoke, :f :read}"),
            Some(Format::Edn)
        );
    }

    #[test]
    fn log_fields_may_be_separated_by_any_whitespace() {
        let tabs = "INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2]\nINFO  jepsen.util - 0\t:ok\t:cas\t[1 2]\n";
        let spaces = "INFO  jepsen.util - 0   :invoke :cas    [1 2]\nINFO jepsen.util - 0 :ok :cas [1 2]  \n";
        let mixed = "0\t:invoke :cas\t [1 2]\n0 :ok\t:cas [1  2]\n";
        let read_all = |t: &str| read(t, Format::JepsenLog).unwrap();
        let want = read_all(tabs);
        assert_eq!(want.len(), 1);
        assert_eq!(want[0].value, serde_json::json!([1, 2]));
        for text in [spaces, mixed] {
            let got = read_all(text);
            assert_eq!(got.len(), 1, "{text}");
            assert_eq!(
                (&got[0].f, &got[0].value, got[0].outcome),
                (&want[0].f, &want[0].value, want[0].outcome)
            );
        }
        assert_eq!((want[0].line, want[0].col), (1, 21));
    }

    #[test]
    fn a_log_line_that_cannot_be_read_is_an_error_at_its_place() {
        // A byte order mark before a value, and wide characters, never split a character.
        let e = read("0 :invoke :read \u{feff}1 é\n", Format::JepsenLog).unwrap_err();
        assert_eq!((e.line, e.col), (1, 20), "{e:?}");
        let e = read(
            "0 :invoke :read nil\nINFO jepsen.core - Running test\n",
            Format::JepsenLog,
        )
        .unwrap_err();
        assert_eq!((e.line, e.col), (2, 1), "{e:?}");
        assert!(e.message.contains("process :type :f value"), "{e:?}");
        let e = read("0 :invoke :read [1 2\n", Format::JepsenLog).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("value `[1 2`"), "{e:?}");
        let e = read("0 :invoke :read 1 2\n", Format::JepsenLog).unwrap_err();
        assert_eq!((e.line, e.col), (1, 19), "{e:?}");
        assert!(e.message.contains("found more"), "{e:?}");
        let e = read("0 :invoke read nil\n", Format::JepsenLog).unwrap_err();
        assert_eq!((e.line, e.col), (1, 11), "{e:?}");
    }

    #[test]
    fn edn_keeps_processes_values_and_positions_apart() {
        let edn = "[{:process 1 :type :invoke :f :write :value :x}\n \
                   {:process \"1\" :type :invoke :f :write :value \"x\"}\n \
                   {:process 1 :type :ok :f :write :value :x}\n \
                   #jepsen.history.Op{:process \"1\" :type :ok :f :write :value \"x\"}]";
        let ops = read(edn, Format::Edn).unwrap();
        assert_eq!(ops.len(), 2, "{ops:?}");
        assert_ne!(ops[0].process, ops[1].process);
        assert_ne!(ops[0].value, ops[1].value);
        assert_eq!((ops[0].line, ops[0].col), (1, 2));
        assert_eq!((ops[1].line, ops[1].col), (2, 2));
        assert_eq!((ops[0].ret, ops[1].ret), (Some(2), Some(3)));
        let e = read("[{:process 0 :type :invoke :f :read}\n 7]", Format::Edn).unwrap_err();
        assert_eq!((e.line, e.col), (2, 2), "{e:?}");
        let e = read("{:type :invoke :f :read}", Format::Edn).unwrap_err();
        assert!(e.message.contains(":process"), "{e:?}");
    }

    #[test]
    fn semantics_decide_what_fail_and_nil_reads_mean() {
        let text = "{:process 0 :type :invoke :f :cas :value [1 2]}\n\
                    {:process 0 :type :fail :f :cas :value [1 2]}\n\
                    {:process 1 :type :invoke :f :read :value nil}\n\
                    {:process 1 :type :ok :f :read :value nil}\n";
        let knossos = read_with(text, Format::Edn, Semantics::Knossos).unwrap();
        assert_eq!(
            (knossos[0].outcome, &knossos[0].result),
            (Outcome::Fail, &None)
        );
        assert_eq!(knossos[1].result, None);
        let porcupine = read_with(text, Format::Edn, Semantics::Porcupine).unwrap();
        assert_eq!(porcupine[0].result, Some(Json::Bool(false)));
        assert_eq!(porcupine[1].result, Some(Json::Null));
        assert_eq!(Format::Edn.semantics(), Semantics::Knossos);
        assert_eq!(Format::JepsenLog.semantics(), Semantics::Porcupine);
    }

    #[test]
    fn edn_and_log_pair_calls_by_process() {
        let edn = "{:process 0 :type :invoke :f :write :value 1}\n\
                   {:process 1 :type :invoke :f :read :value nil}\n\
                   {:process 0 :type :ok :f :write :value 1}\n\
                   {:process :nemesis :type :info :f :start}\n\
                   {:process 1 :type :ok :f :read :value 1}\n";
        let ops = read(edn, Format::Edn).unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!((ops[0].call, ops[0].ret), (0, Some(2)));
        assert_eq!(ops[1].result, Some(Json::from(1)));
        let log = "INFO  jepsen.util - 3\t:invoke\t:cas\t[1 2]\nINFO  jepsen.util - 3\t:fail\t:cas\t[1 2]\n";
        let ops = read(log, Format::JepsenLog).unwrap();
        assert_eq!(ops[0].f, "cas");
        assert_eq!(ops[0].outcome, Outcome::Fail);
        assert_eq!(ops[0].value, serde_json::json!([1, 2]));
        let e = read("{:process 0 :type :ok :f :read}", Format::Edn).unwrap_err();
        assert!(e.message.contains("never invoked"), "{e:?}");
    }
}
