//! Maelstrom's message format: one JSON object per line,
//! `{"src": "n1", "dest": "n2", "body": {"type": "...", "msg_id": 1, "in_reply_to": 1, ...}}`,
//! and the messages clustersim itself writes (`init`, `topology`, timer ticks).

use super::{Topology, CLUSTERSIM, INIT_CLIENT};
use crate::time::Duration;
use serde_json::{json, Map, Value};
use std::fmt;
use std::sync::Arc;

/// Maelstrom's error codes (its `error` body's `code`), by name.
pub mod codes {
    /// Timed out: indefinite.
    pub const TIMEOUT: u64 = 0;
    /// The node does not exist: definite.
    pub const NODE_NOT_FOUND: u64 = 1;
    /// The operation is not supported: definite.
    pub const NOT_SUPPORTED: u64 = 10;
    /// Temporarily unavailable: definite.
    pub const TEMPORARILY_UNAVAILABLE: u64 = 11;
    /// Malformed request: definite.
    pub const MALFORMED_REQUEST: u64 = 12;
    /// The node crashed while handling it: indefinite.
    pub const CRASH: u64 = 13;
    /// Aborted: definite.
    pub const ABORT: u64 = 14;
    /// The key does not exist: definite.
    pub const KEY_DOES_NOT_EXIST: u64 = 20;
    /// The key already exists: definite.
    pub const KEY_ALREADY_EXISTS: u64 = 21;
    /// A precondition (a compare-and-set's) failed: definite.
    pub const PRECONDITION_FAILED: u64 = 22;
    /// A transaction conflict: definite.
    pub const TXN_CONFLICT: u64 = 30;

    /// Whether an error with `code` certainly did not take effect (Maelstrom's definite
    /// errors); unknown codes (custom ones, 1000 and up) are indefinite.
    pub fn definite(code: u64) -> bool {
        matches!(
            code,
            NODE_NOT_FOUND
                | NOT_SUPPORTED
                | TEMPORARILY_UNAVAILABLE
                | MALFORMED_REQUEST
                | ABORT
                | KEY_DOES_NOT_EXIST
                | KEY_ALREADY_EXISTS
                | PRECONDITION_FAILED
                | TXN_CONFLICT
        )
    }
}

/// One message on the wire: its line of JSON, and its body's type for pictures.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Packet {
    kind: Arc<str>,
    text: Arc<str>,
}

impl Packet {
    /// A packet of `text` whose body's type is `kind`.
    pub fn new(kind: String, text: String) -> Packet {
        Packet {
            kind: kind.into(),
            text: text.into(),
        }
    }

    /// The line of JSON.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The body's `type`.
    pub fn kind(&self) -> &str {
        &self.kind
    }
}

/// Its type, then its body: `broadcast {"message":3,...}`.
impl fmt::Debug for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = serde_json::from_str::<Value>(&self.text)
            .ok()
            .and_then(|v| v.get("body").map(Value::to_string))
            .unwrap_or_else(|| self.text.to_string());
        write!(f, "{} {body}", self.kind)
    }
}

/// A parsed message.
#[derive(Clone, Debug)]
pub struct Message {
    /// Who sent it.
    pub src: String,
    /// Who it is for.
    pub dest: String,
    /// The body's `type`.
    pub kind: String,
    /// The body.
    pub body: Map<String, Value>,
}

impl Message {
    /// The body's `in_reply_to`, if it is a whole number.
    pub fn in_reply_to(&self) -> Option<u64> {
        self.body.get("in_reply_to")?.as_u64()
    }
}

/// Reads one line as a Maelstrom message; the error says what is wrong with it.
pub fn parse(line: &str) -> Result<Message, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("is not JSON ({e})"))?;
    let Value::Object(mut o) = v else {
        return Err("is not a JSON object".into());
    };
    let mut field = |name: &str| match o.remove(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("has a `{name}` that is not a string")),
        None => Err(format!("has no `{name}`")),
    };
    let src = field("src")?;
    let dest = field("dest")?;
    let Some(Value::Object(body)) = o.remove("body") else {
        return Err("has no `body` object".into());
    };
    let kind = match body.get("type") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err("has no string `type` in its body".into()),
    };
    Ok(Message {
        src,
        dest,
        kind,
        body,
    })
}

/// The `msg_id` of clustersim's `init` (and `topology`) request.
pub const INIT_MSG_ID: u64 = 1;

/// The `init` message for `node` in a cluster of `nodes`.
pub fn init(node: &str, nodes: &[&str]) -> String {
    json!({"src": INIT_CLIENT, "dest": node, "body": {
        "type": "init", "msg_id": INIT_MSG_ID, "node_id": node, "node_ids": nodes}})
    .to_string()
}

/// The `topology` message for `node`: every node's neighbours among `nodes`.
pub fn topology(node: &str, nodes: &[&str], shape: Topology) -> String {
    let mut map = Map::new();
    for (i, n) in nodes.iter().enumerate() {
        let peers: Vec<&str> = neighbours(nodes.len(), shape, i)
            .into_iter()
            .map(|j| nodes[j])
            .collect();
        map.insert(n.to_string(), json!(peers));
    }
    json!({"src": INIT_CLIENT, "dest": node, "body": {
        "type": "topology", "msg_id": INIT_MSG_ID, "topology": map}})
    .to_string()
}

/// The indices of node `i`'s neighbours among `n` nodes.
pub fn neighbours(n: usize, shape: Topology, i: usize) -> Vec<usize> {
    match shape {
        Topology::Total => (0..n).filter(|j| *j != i).collect(),
        Topology::Line => [i.checked_sub(1), Some(i + 1)]
            .into_iter()
            .flatten()
            .filter(|j| *j < n)
            .collect(),
        Topology::Grid => {
            let side = (1..=n).find(|s| s * s >= n).unwrap_or(1);
            let (r, c) = (i / side, i % side);
            let mut out = Vec::new();
            if r > 0 {
                out.push(i - side);
            }
            if c > 0 {
                out.push(i - 1);
            }
            if c + 1 < side && i + 1 < n {
                out.push(i + 1);
            }
            if i + side < n {
                out.push(i + side);
            }
            out.sort_unstable();
            out
        }
    }
}

/// The tick clustersim writes to `node` when its timer with `tag` (JSON text) is due.
pub fn timer(node: &str, tag: &str) -> String {
    let tag: Value = serde_json::from_str(tag).unwrap_or(Value::Null);
    json!({"src": CLUSTERSIM, "dest": node, "body": {"type": "timer", "tag": tag}}).to_string()
}

/// The longest virtual timer a program may ask for.
pub const MAX_TIMER: Duration = Duration::from_secs(24 * 3600);

/// A program's request for a virtual tick: `{"type": "set_timer", "ms": 100, "tag": ...}`;
/// the delay and the tag as JSON text.
pub fn timer_request(msg: &Message) -> Result<(Duration, String), String> {
    if msg.kind != "set_timer" {
        return Err(format!(
            "a message to `{CLUSTERSIM}` must be a `set_timer`, not `{}`",
            msg.kind
        ));
    }
    let ms = msg
        .body
        .get("ms")
        .and_then(Value::as_f64)
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .ok_or("`set_timer` needs `ms`, a number of milliseconds at least 0")?;
    let after = Duration((ms * 1e6).round() as u64);
    if after > MAX_TIMER {
        return Err(format!("`set_timer` asks for {after}, over {MAX_TIMER}"));
    }
    let tag = msg.body.get("tag").cloned().unwrap_or(Value::Null);
    Ok((after, tag.to_string()))
}

/// A client's request `body` (a JSON object) from `client` to `node`, with `msg_id`.
pub fn request(client: &str, node: &str, msg_id: u64, mut body: Map<String, Value>) -> String {
    body.insert("msg_id".into(), json!(msg_id));
    json!({"src": client, "dest": node, "body": body}).to_string()
}
