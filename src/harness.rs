//! Unit-testing one node: a `Harness` builds the `Context` a handler runs with, delivers one
//! message or fires one timer, and returns what the handler asked for (sends, timers, history
//! records, notes), with the node's durable storage kept between calls. No engine, no network:
//! protocol authors test a handler as a function.
//!
//! ```
//! use clustersim::harness::Harness;
//! use clustersim::node::{Context, Node, NodeId};
//!
//! struct Echo;
//! impl Node for Echo {
//!     type Msg = u64;
//!     type Timer = ();
//!     type Stored = u64;
//!     fn on_start(&mut self, _ctx: &mut Context<'_, Self>) {}
//!     fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: u64) {
//!         ctx.storage().put("last", msg);
//!         ctx.send(from, msg + 1);
//!     }
//!     fn on_timer(&mut self, _ctx: &mut Context<'_, Self>, _timer: ()) {}
//! }
//!
//! let mut h = Harness::<Echo>::new(&[("a", "n"), ("b", "n")], "a");
//! let step = h.deliver(&mut Echo, NodeId(1), 41);
//! assert_eq!(step.sent, vec![(NodeId(1), 42)]);
//! assert_eq!(h.storage().get("last"), Some(&41));
//! ```

use crate::history::{Entry, History};
use crate::node::{Context, Effect, Node, NodeId, Roster, TimerId};
use crate::sim::rng::{stream, Stream, Streams};
use crate::storage::Storage;
use crate::time::{Duration, SimTime};

/// One node outside the engine, with its clock, RNG, storage and history.
pub struct Harness<N: Node> {
    id: NodeId,
    roster: Roster,
    now: SimTime,
    rng: Streams,
    storage: Storage<N::Stored>,
    history: History,
    next_timer: u64,
}

/// What one handler call asked for, in the order it asked.
#[derive(Debug)]
pub struct Step<N: Node> {
    /// Messages sent: destination and message.
    pub sent: Vec<(NodeId, N::Msg)>,
    /// Timers set: handle, delay on the node's clock, tag.
    pub timers: Vec<(TimerId, Duration, N::Timer)>,
    /// Timers cancelled.
    pub cancelled: Vec<TimerId>,
    /// History entries recorded (invokes, completions, events).
    pub history: Vec<Entry>,
    /// Trace notes written with `ctx.note`.
    pub notes: Vec<String>,
    /// The node called `Context::depart`.
    pub departed: bool,
}

impl<N: Node> Harness<N> {
    /// A harness for the node called `me` in a cluster of (name, role) `members`, at time
    /// zero, with the node's RNG stream of seed 0. Panics if `me` is not a member (test code).
    pub fn new(members: &[(&str, &str)], me: &str) -> Self {
        let roster = Roster::new(members.iter().map(|(n, r)| (n.to_string(), r.to_string())));
        let id = roster
            .by_name(me)
            .unwrap_or_else(|| panic!("`{me}` is not one of {:?}", roster.names()));
        Harness {
            id,
            rng: Streams::one(stream(0, Stream::Node(id.0))),
            roster,
            now: SimTime::ZERO,
            storage: Storage::default(),
            history: History::new(),
            next_timer: 0,
        }
    }

    /// Uses the node's RNG stream of `seed`, as a run with that seed would.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = Streams::one(stream(seed, Stream::Node(self.id.0)));
        self
    }

    /// The node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The cluster's membership.
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// The node's clock now.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    /// The node's durable storage.
    pub fn storage(&self) -> &Storage<N::Stored> {
        &self.storage
    }

    /// The node's durable storage, to set up a test.
    pub fn storage_mut(&mut self) -> &mut Storage<N::Stored> {
        &mut self.storage
    }

    /// Crashes the disk: unsynced writes are lost, as in a run.
    pub fn crash_storage(&mut self) {
        self.storage.crash();
    }

    /// Everything recorded so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Runs `on_start`.
    pub fn start(&mut self, node: &mut N) -> Step<N> {
        self.call(|n, ctx| n.on_start(ctx), node)
    }

    /// Delivers `msg` from `from` to `on_message`.
    pub fn deliver(&mut self, node: &mut N, from: NodeId, msg: N::Msg) -> Step<N> {
        self.call(|n, ctx| n.on_message(ctx, from, msg), node)
    }

    /// Tells the node of a membership change through `on_roster_change`.
    pub fn roster_change(&mut self, node: &mut N, change: crate::node::RosterChange) -> Step<N> {
        self.call(|n, ctx| n.on_roster_change(ctx, change), node)
    }

    /// Fires `timer` through `on_timer`.
    pub fn fire(&mut self, node: &mut N, timer: N::Timer) -> Step<N> {
        self.call(|n, ctx| n.on_timer(ctx, timer), node)
    }

    fn call(&mut self, handler: impl FnOnce(&mut N, &mut Context<'_, N>), node: &mut N) -> Step<N> {
        let mut effects = Vec::new();
        let mut notes = Vec::new();
        let before = self.history.len();
        let mut ctx = Context {
            id: self.id,
            true_now: self.now,
            local_now: self.now,
            roster: &self.roster,
            membership: None,
            rng: (&mut self.rng, 0),
            storage: &mut self.storage,
            effects: &mut effects,
            history: &mut self.history,
            next_timer: &mut self.next_timer,
            notes: Some(&mut notes),
            choices: None,
            time_read: None,
        };
        handler(node, &mut ctx);
        let mut step = Step {
            sent: Vec::new(),
            timers: Vec::new(),
            cancelled: Vec::new(),
            history: self.history.entries().skip(before).collect(),
            notes: notes.into_iter().map(|(_, _, text)| text).collect(),
            departed: false,
        };
        for e in effects {
            match e {
                Effect::Send { to, msg } => step.sent.push((to, msg)),
                Effect::SetTimer { id, after, timer } => step.timers.push((id, after, timer)),
                Effect::CancelTimer(id) => step.cancelled.push(id),
                Effect::Depart => step.departed = true,
            }
        }
        step
    }
}
