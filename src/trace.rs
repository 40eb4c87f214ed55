//! The event record of a run and its stable 64-bit hash.
//!
//! The hash is FNV-1a over 64-bit words of a canonical encoding of every event (kind, time,
//! nodes, message ids and each message's `Hash` fed through the same hasher). It never uses
//! `DefaultHasher`, so the same build gives the same hash in every process.

use crate::fault::Fault;
use crate::node::NodeId;
use crate::time::SimTime;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::hash::Hasher;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over 64-bit words: each word is xored in, then multiplied by the FNV prime.
#[derive(Clone, Copy, Debug)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(FNV_OFFSET)
    }
}

impl Fnv64 {
    /// Mixes one 64-bit word into the hash.
    #[inline(always)]
    pub fn word(&mut self, w: u64) {
        self.0 = (self.0 ^ w).wrapping_mul(FNV_PRIME);
    }
}

impl Hasher for Fnv64 {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.word(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.word(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.word(u64::from(i));
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.word(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.word(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.word(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.word(i as u64);
    }
    #[inline]
    fn write_isize(&mut self, i: isize) {
        self.word(i as u64);
    }
}

/// Hashes any `Hash` value with `Fnv64`.
pub fn fnv_hash<T: std::hash::Hash + ?Sized>(value: &T) -> u64 {
    let mut h = Fnv64::default();
    value.hash(&mut h);
    h.finish()
}

/// Why a message was not delivered.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum DropReason {
    /// Random loss on the link.
    Loss,
    /// The two nodes were in different partitions.
    Partition,
    /// A one-way cut blocked this direction.
    Cut,
    /// The destination was down when the message arrived.
    NodeDown,
    /// The destination crashed (and maybe restarted) while the message was in flight.
    Crashed,
    /// The destination's queue was full (the capacity model's `queue` bound).
    QueueFull,
    /// The destination was not a member: a spare not yet joined, or a node that left.
    NotMember,
}

impl DropReason {
    /// A short lower-case label for reports.
    pub fn label(self) -> &'static str {
        match self {
            DropReason::Loss => "loss",
            DropReason::Partition => "partition",
            DropReason::Cut => "cut",
            DropReason::NodeDown => "node down",
            DropReason::Crashed => "crashed in flight",
            DropReason::QueueFull => "queue full",
            DropReason::NotMember => "not a member",
        }
    }
}

/// What happened at one point of a run.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub enum TraceKind {
    /// A node sent a message (`msg` is its debug text).
    Send {
        /// Sender.
        from: NodeId,
        /// Destination.
        to: NodeId,
        /// The message's id (copies share it).
        id: u64,
        /// The message, as debug text.
        msg: String,
    },
    /// A message arrived and was handled.
    Deliver {
        /// Sender.
        from: NodeId,
        /// Destination.
        to: NodeId,
        /// The message's id.
        id: u64,
    },
    /// A message was lost.
    Drop {
        /// Sender.
        from: NodeId,
        /// Destination.
        to: NodeId,
        /// The message's id.
        id: u64,
        /// Why it was lost.
        reason: DropReason,
    },
    /// The network duplicated a message; an extra copy is on its way.
    Duplicate {
        /// Sender.
        from: NodeId,
        /// Destination.
        to: NodeId,
        /// The message's id.
        id: u64,
    },
    /// A timer fired at `node`.
    Timer {
        /// The node.
        node: NodeId,
        /// The timer tag, as debug text.
        timer: String,
    },
    /// A node booted (at the start or after a restart).
    Start {
        /// The node.
        node: NodeId,
    },
    /// A fault was applied.
    Fault {
        /// The fault.
        fault: Fault,
    },
    /// A node wrote a note (`Context::note`).
    Note {
        /// The node.
        node: NodeId,
        /// The text.
        text: String,
    },
    /// A history entry was recorded (its index in the history).
    Op {
        /// The node.
        node: NodeId,
        /// Index into the run's history.
        entry: usize,
    },
}

/// One event of the trace with its virtual time.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct TraceEvent {
    /// When it happened.
    pub time: SimTime,
    /// What happened.
    pub kind: TraceKind,
}

const EVENT_SIZE: u64 = std::mem::size_of::<TraceEvent>() as u64;

/// How much of a run to keep: the hash is always computed, events only when asked.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub enum TraceLevel {
    /// Keep only the hash and counters (fastest).
    #[default]
    HashOnly,
    /// Keep every event as well.
    Full,
    /// Keep the events from `from` to `to` (and every fault, wherever it falls), at most
    /// `max_events` of them: what a picture of a long run needs.
    Window {
        /// First instant kept.
        from: SimTime,
        /// Last instant kept.
        to: SimTime,
        /// Most events kept; later ones in the window are counted, not kept.
        max_events: usize,
    },
}

/// A run's trace: the rolling hash and, at `TraceLevel::Full`, every event.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    hasher: Fnv64,
    /// Shared by a trace's copies until one of them records more (copy on write), so a copy
    /// of the run so far (the debugger's, every step) costs nothing per event.
    events: std::sync::Arc<Vec<TraceEvent>>,
    keep: bool,
    window: Option<(SimTime, SimTime, usize)>,
    bytes: u64,
    left_out: u64,
    kept_until: Option<SimTime>,
    /// At a `Window` level: copies still in flight of each message whose send was kept, so
    /// their fate is kept too when it comes after the window (a picture never calls a message
    /// delivered later "in flight at the end").
    open_kept: std::collections::BTreeMap<u64, u32>,
    /// At a `Window` level, before its span opens: each message in flight, as sent, with its
    /// copies in flight; kept when the span opens, so a picture draws the arrows that cross
    /// into it. `None` once the span has opened.
    in_flight: Option<std::collections::BTreeMap<u64, (SimTime, TraceKind, u32)>>,
}

// Tags that start each event's canonical encoding in the hash.
pub(crate) const TAG_SEND: u64 = 1;
pub(crate) const TAG_DELIVER: u64 = 2;
pub(crate) const TAG_DROP: u64 = 3;
pub(crate) const TAG_DUP: u64 = 4;
pub(crate) const TAG_TIMER: u64 = 5;
pub(crate) const TAG_START: u64 = 6;
pub(crate) const TAG_FAULT: u64 = 7;
pub(crate) const TAG_OP: u64 = 8;
/// A disk fault inside a handler (a failed sync, a lost write); only runs with disk faults mix it.
pub(crate) const TAG_DISK: u64 = 9;
/// A member told of a membership change; only runs whose membership can change mix it.
pub(crate) const TAG_ROSTER: u64 = 10;

impl Trace {
    /// A trace that keeps events when `level` is `Full`.
    pub fn new(level: TraceLevel) -> Self {
        let window = match level {
            TraceLevel::Window {
                from,
                to,
                max_events,
            } => Some((from, to, max_events)),
            _ => None,
        };
        Trace {
            hasher: Fnv64::default(),
            events: std::sync::Arc::new(Vec::new()),
            keep: level != TraceLevel::HashOnly,
            window,
            bytes: 0,
            left_out: 0,
            kept_until: None,
            open_kept: std::collections::BTreeMap::new(),
            in_flight: window
                .filter(|w| w.0 > SimTime(0))
                .map(|_| std::collections::BTreeMap::new()),
        }
    }

    /// True when events are kept, not just hashed.
    #[inline]
    pub fn keeps_events(&self) -> bool {
        self.keep
    }

    /// Mixes the canonical encoding of one event into the hash.
    #[inline(always)]
    pub(crate) fn mix(&mut self, tag: u64, time: SimTime, a: u64, b: u64, c: u64) {
        self.hasher.word(tag);
        self.hasher.word(time.0);
        self.hasher.word(a);
        self.hasher.word(b);
        self.hasher.word(c);
    }

    /// Keeps an event (only at `TraceLevel::Full`).
    #[inline]
    pub(crate) fn keep(&mut self, time: SimTime, kind: impl FnOnce() -> TraceKind) {
        if !self.keep {
            return;
        }
        if let Some((from, to, max)) = self.window {
            if time >= from && self.in_flight.is_some() {
                self.open_window();
            }
            if time < from || time > to || self.events.len() >= max {
                let kind = kind();
                if time < from {
                    self.track_in_flight(time, &kind);
                }
                if matches!(kind, TraceKind::Fault { .. }) || self.closes_kept(&kind) {
                    // Faults are few and the picture needs them to draw bands that began
                    // earlier; a kept message's fate, to draw where it went.
                    self.push(time, kind);
                } else if time >= from && time <= to {
                    self.left_out += 1;
                }
                return;
            }
            let kind = kind();
            self.track_kept(&kind);
            self.kept_until = Some(time);
            self.push(time, kind);
            return;
        }
        let kind = kind();
        self.kept_until = Some(time);
        self.push(time, kind);
    }

    /// Before a window opens: follows the messages in flight.
    fn track_in_flight(&mut self, time: SimTime, kind: &TraceKind) {
        let Some(in_flight) = self.in_flight.as_mut() else {
            return;
        };
        match kind {
            TraceKind::Send { id, .. } => {
                let sent = kind.clone();
                if let TraceKind::Send { msg, .. } = &sent {
                    self.bytes += (std::mem::size_of::<TraceEvent>() + msg.capacity()) as u64;
                }
                in_flight.insert(*id, (time, sent, 1));
            }
            TraceKind::Duplicate { id, .. } => {
                if let Some(m) = in_flight.get_mut(id) {
                    m.2 += 1;
                }
            }
            TraceKind::Deliver { id, .. } | TraceKind::Drop { id, .. } => {
                if let Some(m) = in_flight.get_mut(id) {
                    m.2 -= 1;
                    if m.2 == 0 {
                        if let Some((_, TraceKind::Send { msg, .. }, _)) = in_flight.remove(id) {
                            self.bytes -=
                                (std::mem::size_of::<TraceEvent>() + msg.capacity()) as u64;
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// The window opens: the messages still in flight are kept as sent (a copy the network
    /// made as a duplicate beside its send), and followed as the window's own.
    fn open_window(&mut self) {
        let Some(in_flight) = self.in_flight.take() else {
            return;
        };
        // In the order they were sent (ids rise with sends).
        let mut sends: Vec<(u64, (SimTime, TraceKind, u32))> = in_flight.into_iter().collect();
        sends.sort_by_key(|(id, (t, _, _))| (*t, *id));
        for (id, (time, kind, copies)) in sends {
            let TraceKind::Send { from, to, msg, .. } = &kind else {
                continue;
            };
            let (from, to) = (*from, *to);
            // Counted again by `push`.
            self.bytes -= (std::mem::size_of::<TraceEvent>() + msg.capacity()) as u64;
            self.track_kept(&kind);
            self.push(time, kind);
            for _ in 1..copies {
                let dup = TraceKind::Duplicate { from, to, id };
                self.track_kept(&dup);
                self.push(time, dup);
            }
        }
    }

    /// Counts the copies in flight of messages whose send a window kept.
    fn track_kept(&mut self, kind: &TraceKind) {
        match kind {
            TraceKind::Send { id, .. } => *self.open_kept.entry(*id).or_default() += 1,
            TraceKind::Duplicate { id, .. } => {
                if let Some(n) = self.open_kept.get_mut(id) {
                    *n += 1;
                }
            }
            TraceKind::Deliver { id, .. } | TraceKind::Drop { id, .. } => {
                if let Some(n) = self.open_kept.get_mut(id) {
                    *n -= 1;
                    if *n == 0 {
                        self.open_kept.remove(id);
                    }
                }
            }
            _ => {}
        }
    }

    /// True when `kind`, outside the window, concerns a message whose send was kept (its
    /// duplication, delivery or loss), counted as `track_kept` does.
    fn closes_kept(&mut self, kind: &TraceKind) -> bool {
        let id = match kind {
            TraceKind::Deliver { id, .. }
            | TraceKind::Drop { id, .. }
            | TraceKind::Duplicate { id, .. } => *id,
            _ => return false,
        };
        if !self.open_kept.contains_key(&id) {
            return false;
        }
        self.track_kept(kind);
        true
    }

    /// The time of the last event kept (a `Window` level's last one inside its span).
    pub fn kept_until(&self) -> Option<SimTime> {
        self.kept_until
    }

    /// Drops the kept events, keeping the hash (after they were written out).
    pub fn forget_events(&mut self) {
        self.events = std::sync::Arc::new(Vec::new());
        self.bytes = 0;
    }

    fn push(&mut self, time: SimTime, kind: TraceKind) {
        let heap = match &kind {
            TraceKind::Send { msg, .. } => msg.capacity(),
            TraceKind::Timer { timer, .. } => timer.capacity(),
            TraceKind::Note { text, .. } => text.capacity(),
            TraceKind::Fault { .. } => 64,
            _ => 0,
        };
        self.bytes += (std::mem::size_of::<TraceEvent>() + heap) as u64;
        std::sync::Arc::make_mut(&mut self.events).push(TraceEvent { time, kind });
    }

    /// Bytes the kept events hold, estimated from their sizes.
    pub fn bytes(&self) -> u64 {
        self.bytes + (self.events.capacity() - self.events.len()) as u64 * EVENT_SIZE
    }

    /// Events inside a `Window` level's span that were not kept because it was full.
    pub fn left_out(&self) -> u64 {
        self.left_out
    }

    /// The trace hash so far.
    pub fn hash(&self) -> u64 {
        self.hasher.finish()
    }

    /// The kept events (empty unless the level was `Full`).
    pub fn events(&self) -> &[TraceEvent] {
        &self.events
    }
}

/// Appends `s` to `out` as a quoted JSON string.
pub(crate) fn json_escape(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl TraceEvent {
    /// The event as one JSON object (a line of a `.jsonl` trace), naming nodes by `names`.
    pub fn to_json(&self, names: &[String]) -> String {
        let name = |n: &NodeId| {
            names
                .get(n.index())
                .cloned()
                .unwrap_or_else(|| n.to_string())
        };
        let mut o = String::with_capacity(96);
        let _ = write!(o, "{{\"t_ns\":{},\"kind\":", self.time.0);
        let field = |o: &mut String, k: &str, v: &str| {
            o.push(',');
            json_escape(k, o);
            o.push(':');
            json_escape(v, o);
        };
        match &self.kind {
            TraceKind::Send { from, to, id, msg } => {
                o.push_str("\"send\"");
                field(&mut o, "from", &name(from));
                field(&mut o, "to", &name(to));
                let _ = write!(o, ",\"id\":{id}");
                field(&mut o, "msg", msg);
            }
            TraceKind::Deliver { from, to, id } => {
                o.push_str("\"deliver\"");
                field(&mut o, "from", &name(from));
                field(&mut o, "to", &name(to));
                let _ = write!(o, ",\"id\":{id}");
            }
            TraceKind::Drop {
                from,
                to,
                id,
                reason,
            } => {
                o.push_str("\"drop\"");
                field(&mut o, "from", &name(from));
                field(&mut o, "to", &name(to));
                let _ = write!(o, ",\"id\":{id}");
                field(&mut o, "reason", reason.label());
            }
            TraceKind::Duplicate { from, to, id } => {
                o.push_str("\"duplicate\"");
                field(&mut o, "from", &name(from));
                field(&mut o, "to", &name(to));
                let _ = write!(o, ",\"id\":{id}");
            }
            TraceKind::Timer { node, timer } => {
                o.push_str("\"timer\"");
                field(&mut o, "node", &name(node));
                field(&mut o, "timer", timer);
            }
            TraceKind::Start { node } => {
                o.push_str("\"start\"");
                field(&mut o, "node", &name(node));
            }
            TraceKind::Fault { fault } => {
                o.push_str("\"fault\"");
                field(&mut o, "fault", &fault.describe(names));
            }
            TraceKind::Note { node, text } => {
                o.push_str("\"note\"");
                field(&mut o, "node", &name(node));
                field(&mut o, "text", text);
            }
            TraceKind::Op { node, entry } => {
                o.push_str("\"op\"");
                field(&mut o, "node", &name(node));
                let _ = write!(o, ",\"entry\":{entry}");
            }
        }
        o.push('}');
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_is_stable_and_sensitive() {
        let a = fnv_hash(&(1u64, "abc"));
        assert_eq!(a, fnv_hash(&(1u64, "abc")));
        assert_ne!(a, fnv_hash(&(2u64, "abc")));
        assert_ne!(fnv_hash("ab"), fnv_hash("ba"));
    }
}
