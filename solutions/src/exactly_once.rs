//! Reference solution of lab `exactly-once`: retry, deduplicate by (client, request), and keep
//! the answers as durable as the list.

use clustersim::node::NodeId;
use clustersim_exercises::exactly_once::{Client, Ctx, Functions, Msg, Server, Timer};

// ANCHOR: solution
/// Sends the pending request again and waits again; a stale timer does nothing.
pub fn on_timeout(client: &mut Client, ctx: &mut Ctx<'_>, req: u64) {
    if let Some(p) = client.pending.as_ref().filter(|p| p.req == req) {
        ctx.send(
            client.server,
            Msg::Append {
                req,
                value: p.value,
            },
        );
        ctx.set_timer(client.timeout, Timer::Timeout { req });
    }
}

/// Applies a request the first time it arrives and remembers its answer, durably, before
/// sending it; a repeat gets the remembered answer. (A client sends its next request only after
/// the answer to this one, so one answer per client would do; a map keeps it plain.)
pub fn on_request(server: &mut Server, ctx: &mut Ctx<'_>, from: NodeId, req: u64, value: u64) {
    let position = match server.answered.get(&(from, req)) {
        Some(p) => *p,
        None => {
            let p = server.apply(ctx, value);
            server.answered.insert((from, req), p);
            ctx.storage().put(Server::answer_key(from, req), p);
            ctx.storage().sync();
            p
        }
    };
    ctx.send(from, Msg::Appended { req, position });
}
// ANCHOR_END: solution

/// These functions, as the lab's table.
pub const FUNCTIONS: Functions = Functions {
    on_timeout,
    on_request,
};
