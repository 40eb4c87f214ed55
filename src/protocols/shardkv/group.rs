//! A replica group's server: it serves the shards the current configuration gives its group,
//! takes configurations one at a time and in order, and moves shards between groups.
//!
//! The rules (6.5840's shardkv, DSLabs' lab 4):
//! - A configuration is taken only once every shard of the one before has settled: none still
//!   arriving, none handed over and not yet confirmed by the group that gained it.
//! - A shard the new configuration takes away is frozen at once: no more requests are served
//!   from it, and its state (data and the results of the writes it applied, so a retried write
//!   is not applied twice) waits for the group that gained it.
//! - A shard the new configuration gives is served only once its state has arrived: the group
//!   pulls it from the one that held it, which hands it over only when it has frozen it at that
//!   configuration; a shard no group held before starts empty.
//! - The old holder forgets a shard once the new one says it has it.
//!
//! A server keeps its configuration and its shards on its disk (synced before it answers), so
//! a crash loses nothing; a group is one server, so a group whose machine is lost without a
//! leave loses its shards. A server asked to leave proposes a configuration without its group
//! and departs once its shards are in other hands.
//!
//! Two planted bugs, each a classic migration mistake:
//! - `serve_before_arrival` serves a gained shard at once, from whatever it holds, and lays the
//!   state over it when it arrives (writes in between are lost, reads miss earlier writes).
//! - `serve_after_handoff` keeps serving a shard it handed over: two groups serve one shard.

use super::config::{shard_of, Config};
use super::ctrl::{Answer, Ask, CtrlLine};
use super::{ShardKvParams, ShardMsg, ShardNode, ShardTimer};
use crate::node::{Context, MemberState, NodeId, RosterChange};
use crate::protocols::kv::client::{KvOp, KvReply, KvRequest, KvResult};
use crate::protocols::raft::state_machine::KvStateMachine;
use crate::protocols::raft::Stored;
use crate::storage::Storage;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Where a shard stands on one server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Not this group's, nothing held.
    Absent,
    /// This group's: requests are served from it.
    Serving,
    /// This group's in the current configuration, its state not here yet.
    Pulling,
    /// Given to another group; its state is kept until that group has it.
    Frozen,
}

/// One shard on one server.
#[derive(Clone, Debug, Hash)]
pub struct Shard {
    /// Where it stands.
    pub phase: Phase,
    /// The configuration in which it entered that phase.
    pub tag: u64,
    /// Pulling: the group to pull from; Frozen: the group it went to.
    pub peer: u8,
    /// `serve_before_arrival`: served already, its state still to be pulled.
    pub early: bool,
    /// Its data and the results of the writes applied to it.
    pub sm: KvStateMachine,
}

impl Shard {
    fn absent() -> Self {
        Shard {
            phase: Phase::Absent,
            tag: 0,
            peer: 0,
            early: false,
            sm: KvStateMachine::default(),
        }
    }

    /// The shard's phase, tag, peer and early flag in one word.
    fn word(&self) -> u64 {
        let phase = match self.phase {
            Phase::Absent => 0,
            Phase::Serving => 1,
            Phase::Pulling => 2,
            Phase::Frozen => 3,
        };
        phase | u64::from(self.early) << 2 | u64::from(self.peer & 0xf) << 4 | self.tag << 8
    }

    fn from_word(w: u64) -> Self {
        let phase = match w & 3 {
            1 => Phase::Serving,
            2 => Phase::Pulling,
            3 => Phase::Frozen,
            _ => Phase::Absent,
        };
        Shard {
            phase,
            tag: w >> 8,
            peer: ((w >> 4) & 0xf) as u8,
            early: w & 4 != 0,
            sm: KvStateMachine::default(),
        }
    }
}

/// A replica group's server.
#[derive(Clone, Debug, Hash)]
pub struct GroupServer {
    params: ShardKvParams,
    /// Every node of the server role, spares included: group `g` is the `g`-th (from 1).
    groups: Vec<NodeId>,
    me: NodeId,
    gid: u8,
    cfg: Config,
    shards: Vec<Shard>,
    line: CtrlLine,
    /// The last read found no configuration after `cfg`.
    latest: bool,
    /// Asked to leave.
    leaving: bool,
    /// Leaving, and a configuration this server proposed after it was asked was accepted: no
    /// proposal made before the leave can come after it, so none can give this group shards
    /// once it departs.
    fenced: bool,
}

/// Storage key of the current configuration.
const CONFIG: &str = "cfg";

fn phase_key(s: usize) -> String {
    format!("p/{s}")
}

fn data_prefix(s: usize) -> String {
    format!("d/{s}/")
}

fn write_prefix(s: usize) -> String {
    format!("w/{s}/")
}

impl GroupServer {
    /// Boots group `gid`'s server from what it stored (nothing, on first boot).
    pub fn recover(
        params: ShardKvParams,
        groups: Vec<NodeId>,
        ctrl: Vec<NodeId>,
        me: NodeId,
        storage: &Storage<Stored>,
    ) -> Self {
        let n = params.shards as usize;
        let gid = groups.iter().position(|g| *g == me).map_or(0, |i| i + 1) as u8;
        let word = |key: &str| match storage.get(key) {
            Some(Stored::Word(w)) => Some(*w),
            _ => None,
        };
        let cfg = word(CONFIG).map(Config::decode).unwrap_or_default();
        let mut shards: Vec<Shard> = (0..n)
            .map(|s| word(&phase_key(s)).map_or_else(Shard::absent, Shard::from_word))
            .collect();
        for (s, shard) in shards.iter_mut().enumerate() {
            let prefix = data_prefix(s);
            let data: BTreeMap<u64, u64> = storage
                .scan(&prefix)
                .filter_map(|(k, v)| match v {
                    Stored::Word(w) => Some((k[prefix.len()..].parse().ok()?, *w)),
                    _ => None,
                })
                .collect();
            let prefix = write_prefix(s);
            let writes: BTreeMap<u64, KvResult> = storage
                .scan(&prefix)
                .filter_map(|(k, v)| match v {
                    Stored::Word(w) => Some((k[prefix.len()..].parse().ok()?, result_of(*w))),
                    _ => None,
                })
                .collect();
            shard.sm = KvStateMachine::from_parts(data, writes);
        }
        GroupServer {
            params,
            groups,
            me,
            gid,
            cfg,
            shards,
            line: CtrlLine::new(ctrl),
            latest: false,
            leaving: false,
            fenced: false,
        }
    }

    /// Bytes held on the heap, roughly.
    pub fn heap_bytes(&self) -> u64 {
        self.shards.iter().map(|s| s.sm.heap_bytes() + 64).sum()
    }

    /// The shards and the configuration, for the debugger.
    pub fn describe(&self, names: &[String]) -> String {
        let mut o = format!("group {} at configuration {:?}\n", self.gid, self.cfg);
        for (s, sh) in self.shards.iter().enumerate() {
            if sh.phase == Phase::Absent {
                continue;
            }
            let peer = match (sh.phase, sh.peer) {
                (Phase::Pulling, g) => format!(" from group {g}"),
                (Phase::Frozen, g) => format!(" for group {g}"),
                _ => String::new(),
            };
            let _ = writeln!(
                o,
                "shard {s}: {:?} since #{}{peer}, {} keys",
                sh.phase,
                sh.tag,
                sh.sm.data().len()
            );
        }
        if self.leaving {
            o.push_str("leaving\n");
        }
        let _ = names;
        o
    }

    /// The configuration this server is at.
    pub fn config(&self) -> Config {
        self.cfg
    }

    /// Boots: asks for the configuration after its own and starts polling.
    pub fn on_start(&mut self, ctx: &mut Context<'_, ShardNode>) {
        self.me = ctx.id();
        self.line.boot(ctx);
        self.leaving = ctx.member_state(self.me) == MemberState::Leaving;
        self.line.ask(ctx, Ask::Get(self.cfg.num + 1));
        ctx.set_timer(self.params.poll, ShardTimer::Poll);
    }

    /// The membership changed: a server asked to leave starts handing its shards over. What it
    /// asked before does not count: it reads the configurations again.
    pub fn on_roster_change(&mut self, ctx: &mut Context<'_, ShardNode>, change: RosterChange) {
        if change == RosterChange::Leaving(self.me) {
            self.leaving = true;
            self.fenced = false;
            self.latest = false;
            if self.settled() {
                self.line.ask(ctx, Ask::Get(self.cfg.num + 1));
            }
        }
    }

    /// Every `poll`: chase the configuration service, pull what has not arrived, tell the
    /// groups given a shard to confirm it, propose a configuration that follows the
    /// membership, and depart when a leave is done.
    pub fn on_poll(&mut self, ctx: &mut Context<'_, ShardNode>) {
        ctx.set_timer(self.params.poll, ShardTimer::Poll);
        self.line.tick(
            ctx,
            crate::time::Duration(self.params.poll.0.saturating_mul(2)),
        );
        self.chase(ctx);
        if !self.line.busy() && self.settled() {
            self.line.ask(ctx, Ask::Get(self.cfg.num + 1));
        }
    }

    /// Asks for every shard still to arrive, and asks each group given a shard whether it has
    /// it.
    fn chase(&mut self, ctx: &mut Context<'_, ShardNode>) {
        self.forget_left(ctx);
        for s in 0..self.shards.len() {
            let sh = &self.shards[s];
            let (to, msg) = match sh.phase {
                Phase::Pulling => (
                    sh.peer,
                    ShardMsg::Pull {
                        shard: s as u32,
                        num: sh.tag,
                    },
                ),
                Phase::Serving if sh.early => (
                    sh.peer,
                    ShardMsg::Pull {
                        shard: s as u32,
                        num: sh.tag,
                    },
                ),
                Phase::Frozen => (
                    sh.peer,
                    ShardMsg::Handed {
                        shard: s as u32,
                        num: sh.tag,
                    },
                ),
                Phase::Absent | Phase::Serving => continue,
            };
            if let Some(node) = self.group_node(to) {
                ctx.send(node, msg);
            }
        }
    }

    /// The configuration service answered.
    pub fn on_ctrl_reply(&mut self, ctx: &mut Context<'_, ShardNode>, reply: KvReply) {
        match self.line.on_reply(ctx, reply) {
            Some(Answer::Config(n, Some(c))) if n == self.cfg.num + 1 && self.settled() => {
                self.take(ctx, c);
                self.chase(ctx);
                if self.settled() {
                    self.line.ask(ctx, Ask::Get(self.cfg.num + 1));
                }
            }
            Some(Answer::Config(n, None)) if n == self.cfg.num + 1 => {
                self.latest = true;
                if !self.propose(ctx) {
                    self.maybe_depart(ctx);
                }
            }
            Some(Answer::Accepted(_)) if self.leaving => {
                self.fenced = true;
                self.latest = false;
                self.line.ask(ctx, Ask::Get(self.cfg.num + 1));
            }
            Some(Answer::Accepted(_) | Answer::Taken(_)) => {
                self.latest = false;
                self.line.ask(ctx, Ask::Get(self.cfg.num + 1));
            }
            _ => {}
        }
    }

    /// A client's request: served if this group serves the key's shard, else refused as the
    /// wrong group (`NotLeader` without a hint).
    pub fn on_request(&mut self, ctx: &mut Context<'_, ShardNode>, from: NodeId, req: KvRequest) {
        let s = shard_of(req.op.key(), self.shards.len());
        let sh = &self.shards[s];
        let serves = sh.phase == Phase::Serving
            || (sh.phase == Phase::Frozen && self.params.serve_after_handoff);
        if !serves {
            ctx.send(
                from,
                ShardMsg::Rep(KvReply {
                    id: req.id,
                    result: KvResult::NotLeader { leader: None },
                }),
            );
            return;
        }
        let result = self.shards[s].sm.apply(&req.op);
        if let KvOp::Put { key, value } | KvOp::Cas { key, to: value, .. } = req.op {
            let st = ctx.storage();
            if let Some(v) = self.shards[s].sm.data().get(&key) {
                st.put(format!("{}{key}", data_prefix(s)), Stored::Word(*v));
            }
            st.put(
                format!("{}{value}", write_prefix(s)),
                Stored::Word(word_of(result)),
            );
            st.sync();
        }
        ctx.send(from, ShardMsg::Rep(KvReply { id: req.id, result }));
    }

    /// Another group asks for shard `shard` as of configuration `num`: handed over once this
    /// server froze it there (not yet: no answer).
    pub fn on_pull(
        &mut self,
        ctx: &mut Context<'_, ShardNode>,
        from: NodeId,
        shard: u32,
        num: u64,
    ) {
        let Some(sh) = self.shards.get(shard as usize) else {
            return;
        };
        if sh.phase == Phase::Frozen && sh.tag == num {
            ctx.send(
                from,
                ShardMsg::Shard {
                    shard,
                    num,
                    state: Box::new(sh.sm.clone()),
                },
            );
        }
    }

    /// A shard's state arrived: installed if this server still waits for it.
    pub fn on_shard(
        &mut self,
        ctx: &mut Context<'_, ShardNode>,
        from: NodeId,
        shard: u32,
        num: u64,
        state: KvStateMachine,
    ) {
        let s = shard as usize;
        let Some(sh) = self.shards.get_mut(s) else {
            return;
        };
        let waiting = (sh.phase == Phase::Pulling || sh.early) && sh.tag == num;
        if waiting {
            sh.sm = state;
            sh.phase = Phase::Serving;
            sh.early = false;
            self.store_shard(ctx, s, true);
            ctx.storage().sync();
            ctx.note(|| format!("has shard {s} of configuration {num}"));
        }
        if waiting || self.has_taken(s, num) {
            ctx.send(from, ShardMsg::Taken { shard, num });
        }
        if waiting && self.settled() && !self.line.busy() {
            self.line.ask(ctx, Ask::Get(self.cfg.num + 1));
        }
    }

    /// The group that gave a shard asks whether it arrived.
    pub fn on_handed(
        &mut self,
        ctx: &mut Context<'_, ShardNode>,
        from: NodeId,
        shard: u32,
        num: u64,
    ) {
        if self.has_taken(shard as usize, num) {
            ctx.send(from, ShardMsg::Taken { shard, num });
        }
    }

    /// The group a shard went to has it: forget it.
    pub fn on_taken(&mut self, ctx: &mut Context<'_, ShardNode>, shard: u32, num: u64) {
        let s = shard as usize;
        let Some(sh) = self.shards.get_mut(s) else {
            return;
        };
        if sh.phase == Phase::Frozen && sh.tag == num {
            *sh = Shard::absent();
            self.store_shard(ctx, s, true);
            ctx.storage().sync();
            self.maybe_depart(ctx);
        }
    }

    /// Forgets each handed-over shard whose new group has left: a group leaves only once it
    /// took every configuration up to its removal, so it had the shard (its confirmation was
    /// lost, say to a crash of this server); one that was lost without a leave took it along.
    /// Waiting for a confirmation that can no longer come would hold this server at its
    /// configuration for good.
    fn forget_left(&mut self, ctx: &mut Context<'_, ShardNode>) {
        let mut forgot = false;
        for s in 0..self.shards.len() {
            let sh = &self.shards[s];
            let gone = sh.phase == Phase::Frozen
                && self
                    .group_node(sh.peer)
                    .is_some_and(|n| ctx.member_state(n) == MemberState::Left);
            if gone {
                let (num, peer) = (sh.tag, sh.peer);
                self.shards[s] = Shard::absent();
                self.store_shard(ctx, s, true);
                forgot = true;
                ctx.note(|| {
                    format!("forgets shard {s} of configuration {num}: group {peer} has left")
                });
            }
        }
        if forgot {
            ctx.storage().sync();
        }
    }

    /// This server installed shard `s` at configuration `num` or has moved past it.
    fn has_taken(&self, s: usize, num: u64) -> bool {
        let Some(sh) = self.shards.get(s) else {
            return false;
        };
        self.cfg.num > num || (self.cfg.num == num && sh.phase != Phase::Pulling && !sh.early)
    }

    /// No shard still arriving, and none handed over that its new group has not confirmed: a
    /// server that took the next configuration first could be given back a shard it still
    /// keeps for a group that has not pulled it, and the two would wait on each other.
    fn settled(&self) -> bool {
        self.shards
            .iter()
            .all(|s| matches!(s.phase, Phase::Serving | Phase::Absent) && !s.early)
    }

    /// Takes the next configuration `c`.
    fn take(&mut self, ctx: &mut Context<'_, ShardNode>, c: Config) {
        let me = self.gid;
        for s in 0..self.shards.len() {
            let (old, new) = (self.cfg.shards[s], c.shards[s]);
            let sh = &mut self.shards[s];
            if new == me && old != me {
                sh.tag = c.num;
                sh.peer = old;
                if old == 0 {
                    sh.phase = Phase::Serving;
                    sh.sm = KvStateMachine::default();
                } else if self.params.serve_before_arrival {
                    sh.phase = Phase::Serving;
                    sh.early = true;
                } else {
                    sh.phase = Phase::Pulling;
                }
            } else if old == me && new != me {
                sh.phase = Phase::Frozen;
                sh.tag = c.num;
                sh.peer = new;
                sh.early = false;
            } else {
                continue;
            }
            self.store_shard(ctx, s, false);
        }
        self.cfg = c;
        self.latest = false;
        ctx.storage().put(CONFIG, Stored::Word(c.encode()));
        ctx.storage().sync();
        ctx.note(|| format!("takes configuration {c:?}"));
    }

    /// Writes shard `s`'s phase (and, with `data`, its state in place of what was stored).
    fn store_shard(&mut self, ctx: &mut Context<'_, ShardNode>, s: usize, data: bool) {
        let sh = &self.shards[s];
        let st = ctx.storage();
        st.put(phase_key(s), Stored::Word(sh.word()));
        if !data {
            return;
        }
        for prefix in [data_prefix(s), write_prefix(s)] {
            let keys: Vec<String> = st.keys(&prefix).map(str::to_string).collect();
            for k in keys {
                st.delete(&k);
            }
        }
        for (k, v) in sh.sm.data() {
            st.put(format!("{}{k}", data_prefix(s)), Stored::Word(*v));
        }
        for (v, r) in sh.sm.writes() {
            st.put(format!("{}{v}", write_prefix(s)), Stored::Word(word_of(*r)));
        }
    }

    /// The node of group `g`.
    fn group_node(&self, g: u8) -> Option<NodeId> {
        self.groups.get(usize::from(g).checked_sub(1)?).copied()
    }

    /// The groups the membership says should hold shards: every server that is a member and
    /// not leaving.
    fn wanted(&self, ctx: &Context<'_, ShardNode>) -> Vec<u8> {
        self.groups
            .iter()
            .enumerate()
            .filter(|(_, n)| ctx.member_state(**n) == MemberState::Member)
            .map(|(i, _)| (i + 1) as u8)
            .collect()
    }

    /// At the latest configuration, proposes the next one if the membership wants shards
    /// elsewhere (a group joined, or is leaving or gone); true if it did. Only a wanted group,
    /// or one leaving, proposes. A leaving server proposes once even when no shard moves: a
    /// proposal another server drew before the leave could otherwise still give it shards
    /// after it departed; its own accepted proposal comes after every such one.
    fn propose(&mut self, ctx: &mut Context<'_, ShardNode>) -> bool {
        let wanted = self.wanted(ctx);
        if wanted.is_empty() || (!wanted.contains(&self.gid) && !self.leaving) {
            return false;
        }
        let next = self.cfg.next(self.shards.len(), &wanted);
        let fence = self.leaving && !self.fenced;
        if self.cfg.num > 0 && next.shards == self.cfg.shards && !fence {
            return false;
        }
        ctx.note(|| format!("proposes configuration {next:?}"));
        self.line.ask(ctx, Ask::Propose(next));
        true
    }

    /// A leaving server whose shards are all in other hands departs.
    fn maybe_depart(&mut self, ctx: &mut Context<'_, ShardNode>) -> bool {
        let holds = self.shards.iter().any(|s| s.phase != Phase::Absent);
        let assigned = self.cfg.shards[..self.shards.len()].contains(&self.gid);
        if self.leaving && self.fenced && self.latest && !holds && !assigned {
            ctx.note(|| "has handed every shard over and departs".to_string());
            ctx.depart();
            return true;
        }
        false
    }
}

/// A write's result as a stored word.
fn word_of(r: KvResult) -> u64 {
    match r {
        KvResult::CasMismatch => 1,
        _ => 0,
    }
}

/// A stored word as a write's result.
fn result_of(w: u64) -> KvResult {
    match w {
        1 => KvResult::CasMismatch,
        _ => KvResult::Done(None),
    }
}
