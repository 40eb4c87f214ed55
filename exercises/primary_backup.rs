//! Lab `primary-backup`: a key-value service replicated on a primary and a backup, with a view
//! server that decides who is which (MIT 6.824's 2014 lab 2 and DSLabs' lab 2, on the same
//! simulator and checkers as everything else).
//!
//! A view is a number, a primary and a backup. Servers ping the view server every 100 ms with
//! the number of the view they acknowledge; the view server answers with its current view. You
//! write both sides: the view server's `on_ping` and `on_check`, and the server's handlers. The
//! messages, the state and the helpers are in `exercises/primary_backup_node.rs`
//! (`ViewServer::{alive, idle, change_view}`, `PbServer::{is_primary, is_backup, execute,
//! transfer, send_to_backup, reply, redirect}`); the scaffolding records views, their
//! acknowledgements and who is primary in the history by itself.
//!
//! The levels (`clustersim-exercises check-exercise primary-backup --level N`; about a day):
//!
//! 1. **The view service** (`scenarios/exercises/primary-backup-1-views.ron`, no clients):
//!    servers crash and restart; within 1 s of a crash of the primary or the backup, a view
//!    without it; views numbered one after another; a view changes only after its primary
//!    acknowledged it; a new primary is always the old primary or the old backup (no other
//!    server has the data), even when both are gone at once (two servers paused together).
//!    Write `on_ping` and `on_check`.
//! 2. **Replication and state transfer** (`primary-backup-2-replication.ron`): two servers,
//!    clients; just after the primary acknowledges a write it is cut off from everyone until
//!    the backup has taken over, then comes back and becomes the new backup; every history
//!    linearizable. The primary forwards each operation (reads too) to the backup and answers
//!    only once the backup has it; a primary with a new backup sends it the whole state
//!    (`s.transfer()`) and acknowledges the view only once the backup took it. Write
//!    `on_request`, `on_forward`, `on_forward_reply`, `on_transfer`, `on_transfer_reply`, and
//!    finish `on_view`.
//! 3. **Crashes and restarts** (`primary-backup-3-restarts.ron`): three servers crash in turn
//!    and restart with nothing; every history linearizable, clients served after the faults.
//! 4. **An unreliable network** (`primary-backup-4-unreliable.ron`): messages lost and
//!    duplicated, clients that resend a request that timed out, partitions that cut the primary
//!    off from the view server but not from a client. Send again what was not answered
//!    (`on_tick`), apply each write once (`apply`), and let no server that is not the primary
//!    of the current view answer a client.
//! 5. **A deposed primary** (`primary-backup-5-deposed.ron`): a primary cut off from the view
//!    server alone keeps forwarding to its old backup, which comes back as the backup of
//!    another primary, on a network that delivers some messages (an old view's transfer) seconds
//!    late. A backup takes forwards and state only from the primary of its own view.
//!
//! Hints: a backup takes a forward only from the primary of its own view, and only once it has
//! that primary's state; a primary with no backup answers at once; the view server never
//! promotes a server that was not the backup, and never changes an unacknowledged view; a
//! server that booted since holds nothing, so it must never acknowledge a view that makes it
//! primary (only the primary or the synced backup of the view before may serve in the next).

// What the handlers work with; the starter uses few of them yet.
#[allow(unused_imports)]
use crate::primary_backup_node::{
    Ctx, Forward, ForwardReply, PbMsg, PbServer, Transfer, TransferReply, View, ViewServer, Waiting,
};
use clustersim::node::NodeId;
use clustersim::protocols::kv::client::{KvOp, KvRequest, KvResult};

// ANCHOR: student
/// The view server heard a ping from `server`, which acknowledges view `num` (0: the server
/// just booted, with nothing). `vs.last_heard` already has this ping. Start view 1 with the
/// first server that pings; note the primary's acknowledgement; treat a primary or backup that
/// pings with 0 as one that failed. The scaffolding answers the ping with `vs.view` afterwards.
#[allow(unused_variables)]
pub fn on_ping(vs: &mut ViewServer, ctx: &mut Ctx<'_>, server: NodeId, num: u64) {
    todo!("the view service: first view, acknowledgements, restarted servers")
}

/// Runs every ping interval: replace a primary or backup the view server has not heard from
/// for 5 pings (`vs.alive`), and give a view without a backup an idle server (`vs.idle`).
#[allow(unused_variables)]
pub fn on_check(vs: &mut ViewServer, ctx: &mut Ctx<'_>) {
    todo!("the view service: dead servers, promotion, a new backup")
}

/// The server learned of `view`, newer than `s.view`. This version adopts it and acknowledges it
/// at once, which is right only while no server ever becomes a backup with nothing.
pub fn on_view(s: &mut PbServer, ctx: &mut Ctx<'_>, view: View) {
    let _ = ctx;
    s.view = view;
    s.acked = view.num;
}

/// A client's request. The primary executes it (`s.execute`), forwards it to the backup and
/// answers once the backup has it (`s.waiting` remembers whom to answer); anyone else answers
/// with `s.redirect`.
#[allow(unused_variables)]
pub fn on_request(s: &mut PbServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
    todo!("serve as primary, through the backup")
}

/// The primary forwards an operation.
#[allow(unused_variables)]
pub fn on_forward(s: &mut PbServer, ctx: &mut Ctx<'_>, from: NodeId, fwd: Forward) {
    todo!("apply the primary's operations in its order, or refuse")
}

/// The backup answered a forward.
#[allow(unused_variables)]
pub fn on_forward_reply(s: &mut PbServer, ctx: &mut Ctx<'_>, from: NodeId, reply: ForwardReply) {
    todo!("answer the clients whose operations the backup has")
}

/// The primary sends its whole state. This version ignores it.
#[allow(unused_variables)]
pub fn on_transfer(s: &mut PbServer, ctx: &mut Ctx<'_>, from: NodeId, transfer: Transfer) {}

/// The new backup answered a transfer. This version ignores it.
#[allow(unused_variables)]
pub fn on_transfer_reply(s: &mut PbServer, ctx: &mut Ctx<'_>, from: NodeId, reply: TransferReply) {}

/// Runs every 20 ms on every server. This version does nothing.
#[allow(unused_variables)]
pub fn on_tick(s: &mut PbServer, ctx: &mut Ctx<'_>) {}

/// Applies one operation to the key-value map and returns what its client is told. This version
/// applies a write every time it arrives; with client retries (level 4) the same write can
/// arrive twice (every write carries a value no other write has).
pub fn apply(s: &mut PbServer, op: KvOp) -> KvResult {
    match op {
        KvOp::Get { key } => KvResult::Done(s.kv.get(&key).copied()),
        KvOp::Put { key, value } => {
            s.kv.insert(key, value);
            KvResult::Done(None)
        }
        KvOp::Cas { key, from, to } => {
            if s.kv.get(&key).copied() != from {
                return KvResult::CasMismatch;
            }
            s.kv.insert(key, to);
            KvResult::Done(None)
        }
    }
}
// ANCHOR_END: student

/// The student's pieces of this lab as a table a run calls (another `Code` swaps them).
#[derive(Debug, Hash)]
pub struct Functions {
    /// See [`on_ping`].
    pub on_ping: fn(&mut ViewServer, &mut Ctx<'_>, NodeId, u64),
    /// See [`on_check`].
    pub on_check: fn(&mut ViewServer, &mut Ctx<'_>),
    /// See [`on_view`].
    pub on_view: fn(&mut PbServer, &mut Ctx<'_>, View),
    /// See [`on_request`].
    pub on_request: fn(&mut PbServer, &mut Ctx<'_>, NodeId, KvRequest),
    /// See [`on_forward`].
    pub on_forward: fn(&mut PbServer, &mut Ctx<'_>, NodeId, Forward),
    /// See [`on_forward_reply`].
    pub on_forward_reply: fn(&mut PbServer, &mut Ctx<'_>, NodeId, ForwardReply),
    /// See [`on_transfer`].
    pub on_transfer: fn(&mut PbServer, &mut Ctx<'_>, NodeId, Transfer),
    /// See [`on_transfer_reply`].
    pub on_transfer_reply: fn(&mut PbServer, &mut Ctx<'_>, NodeId, TransferReply),
    /// See [`on_tick`].
    pub on_tick: fn(&mut PbServer, &mut Ctx<'_>),
    /// See [`apply`].
    pub apply: fn(&mut PbServer, KvOp) -> KvResult,
}

/// The functions in this file.
pub const STUDENT: Functions = Functions {
    on_ping,
    on_check,
    on_view,
    on_request,
    on_forward,
    on_forward_reply,
    on_transfer,
    on_transfer_reply,
    on_tick,
    apply,
};
