//! Wrong primary-backup servers: the reference with one mistake each, a mistake students make.

use clustersim::node::NodeId;
use clustersim::protocols::kv::client::{KvOp, KvRequest};
use clustersim_exercises::primary_backup::{self as lab, Functions};
use clustersim_exercises::primary_backup_node::{
    Ctx, Forward, ForwardReply, PbMsg, PbServer, Transfer, TransferReply, ViewServer,
};

use crate::primary_backup as reference;

const RIGHT: Functions = reference::FUNCTIONS;

fn check_eagerly(vs: &mut ViewServer, ctx: &mut Ctx<'_>) {
    let acked = vs.acked;
    vs.acked = true;
    reference::on_check(vs, ctx);
    if vs.view.num == 0 {
        vs.acked = acked;
    }
}
/// Changes the view whenever a server looks dead, acknowledged or not.
pub const IGNORES_ACKS: Functions = Functions {
    on_check: check_eagerly,
    ..RIGHT
};

fn ping_ignoring_restarts(vs: &mut ViewServer, ctx: &mut Ctx<'_>, server: NodeId, num: u64) {
    if num != 0 || vs.view.num == 0 {
        reference::on_ping(vs, ctx, server, num);
    }
}
/// Takes a ping with 0 from the primary or backup for an ordinary ping.
pub const IGNORES_RESTARTS: Functions = Functions {
    on_ping: ping_ignoring_restarts,
    ..RIGHT
};

fn no_backup(s: &mut PbServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
    if !s.is_primary() || s.acked != s.view.num {
        s.redirect(ctx, client, req.id);
        return;
    }
    let result = s.execute(req.op);
    s.reply(ctx, client, req.id, result);
}
/// Answers at once and never forwards: the backup has nothing.
pub const NEVER_FORWARDS: Functions = Functions {
    on_request: no_backup,
    ..RIGHT
};

fn answer_at_once(s: &mut PbServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
    reference::on_request(s, ctx, client, req);
    if let Some((_, w)) = s.waiting.pop_last() {
        s.reply(ctx, w.client, w.id, w.result);
    }
}
/// Answers the client as soon as the forward is sent.
pub const ANSWERS_EARLY: Functions = Functions {
    on_request: answer_at_once,
    ..RIGHT
};

fn local_reads(s: &mut PbServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
    if let KvOp::Get { key } = req.op {
        if s.is_primary() && s.acked == s.view.num {
            let value = s.kv.get(&key).copied();
            s.reply(
                ctx,
                client,
                req.id,
                clustersim::protocols::kv::client::KvResult::Done(value),
            );
            return;
        }
    }
    reference::on_request(s, ctx, client, req);
}
/// Answers reads from its own copy, without asking the backup.
pub const LOCAL_READS: Functions = Functions {
    on_request: local_reads,
    ..RIGHT
};

fn forward_without_state(s: &mut PbServer, ctx: &mut Ctx<'_>, from: NodeId, fwd: Forward) {
    s.synced = s.view.num;
    reference::on_forward(s, ctx, from, fwd);
}
/// Forwards, but never transfers the state: a backup takes forwards from its primary at
/// once, whatever it holds.
pub const NO_TRANSFER: Functions = Functions {
    on_view: lab::on_view,
    on_forward: forward_without_state,
    ..RIGHT
};

/// Applies a write every time it arrives.
pub const APPLIES_TWICE: Functions = Functions {
    apply: lab::apply,
    ..RIGHT
};

/// Never sends anything again.
pub const NO_RETRANSMIT: Functions = Functions {
    on_tick: lab::on_tick,
    ..RIGHT
};

fn check_promoting_idle(vs: &mut ViewServer, ctx: &mut Ctx<'_>) {
    let now = ctx.now();
    let dead = |s: Option<NodeId>| s.is_none_or(|s| !vs.alive(s, now));
    if vs.view.num != 0 && vs.acked && dead(vs.view.primary) && dead(vs.view.backup) {
        if let Some(idle) = vs.idle(now) {
            vs.change_view(Some(idle), None);
            return;
        }
    }
    reference::on_check(vs, ctx);
}
/// Makes an idle server primary when the primary and the backup are both gone: it has none of
/// the data.
pub const PROMOTES_IDLE: Functions = Functions {
    on_check: check_promoting_idle,
    ..RIGHT
};

fn forward_from_anyone(s: &mut PbServer, ctx: &mut Ctx<'_>, from: NodeId, fwd: Forward) {
    // The mistake: neither the sender nor its view is compared with this server's view.
    if !(s.is_backup() && s.synced == s.view.num) {
        return reference::on_forward(s, ctx, from, fwd);
    }
    if fwd.seq > s.seq {
        s.early.insert(fwd.seq, fwd.op);
    }
    while let Some(op) = s.early.remove(&(s.seq + 1)) {
        s.execute(op);
    }
    let reply = ForwardReply {
        view: fwd.view,
        seq: s.seq,
        ok: true,
    };
    s.send(ctx, from, PbMsg::ForwardReply(reply));
}
/// The backup applies forwarded operations from anyone, of any view: a deposed primary's
/// operations reach the new primary's copy.
pub const FORWARDS_FROM_ANYONE: Functions = Functions {
    on_forward: forward_from_anyone,
    ..RIGHT
};

fn transfer_from_anyone(s: &mut PbServer, ctx: &mut Ctx<'_>, from: NodeId, t: Transfer) {
    // The mistake: any transfer is taken, whoever sent it and for whatever view.
    let ok = s.is_backup();
    if ok && s.synced != t.view {
        s.kv = t.kv;
        s.applied_writes = t.applied_writes;
        s.seq = t.seq;
        s.early.clear();
        s.synced = s.view.num;
    }
    let reply = TransferReply { view: t.view, ok };
    s.send(ctx, from, PbMsg::TransferReply(reply));
}
/// The backup takes a state transfer from anyone, of any view: a stale primary's state
/// replaces the current one.
pub const TRANSFER_FROM_ANYONE: Functions = Functions {
    on_transfer: transfer_from_anyone,
    ..RIGHT
};

fn counts_stale_acks(s: &mut PbServer, ctx: &mut Ctx<'_>, from: NodeId, mut reply: ForwardReply) {
    // The mistake: an acknowledgement of an older view counts as one of this view.
    if reply.view < s.view.num {
        reply.view = s.view.num;
    }
    reference::on_forward_reply(s, ctx, from, reply);
}
/// The primary counts a forward acknowledgement from an older view as one of its own.
pub const COUNTS_STALE_ACKS: Functions = Functions {
    on_forward_reply: counts_stale_acks,
    ..RIGHT
};
