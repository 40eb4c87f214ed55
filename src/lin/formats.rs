//! Reading recorded histories into `Operation`s: clustersim's JSON lines (`run --history`),
//! Jepsen and Knossos EDN (`{:type :invoke, :f :write, :value 3, :process 0}`, one map after
//! another or in a vector), and the Jepsen log lines Porcupine's etcd histories use
//! (`INFO jepsen.util - 3<TAB>:invoke<TAB>:read<TAB>nil`). The format is told from the text, or forced.
//!
//! A cas that failed its compare reads as a cas whose result is `false` (an observation): in
//! Jepsen histories that is what `:fail` of a cas means; in clustersim's, a `CasFailed`
//! completion (a cas refused for another reason, say no leader, did nothing and says nothing).

use super::edn::Reader;
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
    /// Jepsen log lines: process, type, f and value separated by tabs.
    JepsenLog,
}

impl Format {
    /// The names `--format` accepts.
    pub const NAMES: [&'static str; 3] = ["clustersim", "edn", "jepsen-log"];

    /// The format called `name`.
    pub fn named(name: &str) -> Option<Format> {
        match name {
            "clustersim" | "jsonl" => Some(Format::Clustersim),
            "edn" | "jepsen" | "knossos" => Some(Format::Edn),
            "jepsen-log" | "log" | "porcupine" => Some(Format::JepsenLog),
            _ => None,
        }
    }

    /// The format's name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Clustersim => "clustersim",
            Format::Edn => "edn",
            Format::JepsenLog => "jepsen-log",
        }
    }

    /// The format of `text`, told from its first line that is not blank or an EDN comment.
    pub fn detect(text: &str) -> Option<Format> {
        let text = without_bom(text);
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with(';'))?;
        if first.starts_with("{\"") {
            Some(Format::Clustersim)
        } else if text.contains("\t:invoke\t") || first.contains("jepsen.util") {
            Some(Format::JepsenLog)
        } else if first.starts_with('{') || first.starts_with('[') || first.starts_with('(') {
            Some(Format::Edn)
        } else {
            None
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
    FormatError {
        line,
        col: 1,
        message: message.into(),
    }
}

/// Reads `text` in `format` into operations, in the order of their calls.
pub fn read(text: &str, format: Format) -> Result<Vec<Operation>, FormatError> {
    let text = without_bom(text);
    match format {
        Format::Clustersim => read_clustersim(text),
        Format::Edn => read_edn(text),
        Format::JepsenLog => read_log(text),
    }
}

/// One event of a Jepsen-style history: a process invoking or completing an operation.
struct Event {
    process: String,
    kind: String,
    f: String,
    value: Json,
    line: usize,
}

/// Pairs invocations with the next completion of the same process.
fn pair(events: Vec<Event>) -> Result<Vec<Operation>, FormatError> {
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
                    key: None,
                    value: e.value,
                    result: None,
                    outcome: Outcome::Info,
                    call: pos,
                    ret: None,
                    line: e.line,
                });
            }
            "ok" | "fail" | "info" => {
                let Some(i) = open.remove(&e.process) else {
                    if e.kind == "info" {
                        // Jepsen writes nemesis and crash notes as info without an invoke.
                        continue;
                    }
                    return Err(at(
                        e.line,
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
                        // Jepsen's registers (and Porcupine reading them) fail a cas when its
                        // compare fails: the result says so.
                        op.result = Some(if op.f == "cas" {
                            Json::Bool(false)
                        } else {
                            e.value
                        });
                        op.ret = Some(pos);
                    }
                    _ => op.outcome = Outcome::Info,
                }
            }
            other => {
                return Err(at(
                    e.line,
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

fn read_edn(text: &str) -> Result<Vec<Operation>, FormatError> {
    let mut reader = Reader::new(text);
    let mut events = Vec::new();
    let mut push = |v: Json, line: usize| -> Result<(), FormatError> {
        let Json::Object(m) = &v else {
            return Err(at(line, format!("expected an operation map, found {v}")));
        };
        let get = |k: &str| m.get(k).cloned().unwrap_or(Json::Null);
        let process = get("process");
        if process == "nemesis" || process.is_null() {
            return Ok(());
        }
        let kind = text_of(&get("type"));
        let f = text_of(&get("f"));
        if kind.is_empty() || f.is_empty() || kind == "null" || f == "null" {
            return Err(at(line, "an operation map needs :type and :f"));
        }
        events.push(Event {
            process: text_of(&process),
            kind,
            f,
            value: get("value"),
            line,
        });
        Ok(())
    };
    loop {
        let start = reader.offset();
        let (line, _) = reader.position(start);
        let value = reader.next_value().map_err(|e| FormatError {
            line: e.line,
            col: e.col,
            message: e.message,
        })?;
        match value {
            None => break,
            // A whole history in one vector or list.
            Some(Json::Array(items)) => {
                for item in items {
                    push(item, line)?;
                }
            }
            Some(v) => push(v, line)?,
        }
    }
    pair(events)
}

fn read_log(text: &str) -> Result<Vec<Operation>, FormatError> {
    let mut events = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let fields: Vec<&str> = raw.split('\t').collect();
        let Some(kind_at) = fields
            .iter()
            .position(|f| matches!(*f, ":invoke" | ":ok" | ":fail" | ":info"))
        else {
            continue;
        };
        if kind_at == 0 || fields.len() < kind_at + 2 {
            return Err(at(line, "expected `process<TAB>:type<TAB>:f<TAB>value`"));
        }
        let process = fields[kind_at - 1]
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        if process == ":nemesis" || process.is_empty() {
            continue;
        }
        let value_text = fields.get(kind_at + 2).copied().unwrap_or("nil");
        let value = Reader::new(value_text)
            .next_value()
            .map_err(|e| at(line, format!("value `{value_text}`: {}", e.message)))?
            .unwrap_or(Json::Null);
        events.push(Event {
            process,
            kind: fields[kind_at].trim_start_matches(':').to_string(),
            f: fields[kind_at + 1].trim_start_matches(':').to_string(),
            value,
            line,
        });
    }
    pair(events)
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
