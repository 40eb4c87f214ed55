//! Wrong solutions of the chapters' exercises: the reference with one mistake each, a mistake
//! students make, grouped by exercise.

/// `reliable-ping`: resend a request until it is answered.
pub mod reliable_ping {
    use clustersim_exercises::reliable_ping::{Client, Ctx, Functions, Msg, Timer};

    fn wait_only(client: &mut Client, ctx: &mut Ctx<'_>, seq: u64) {
        if client.pending.as_ref().is_some_and(|p| p.seq == seq) {
            ctx.set_timer(client.timeout, Timer::Timeout { seq });
        }
    }

    /// Waits again after a timeout but never sends the request again.
    pub const NEVER_RESENDS: Functions = Functions {
        on_timeout: wait_only,
    };

    fn resend_once(client: &mut Client, ctx: &mut Ctx<'_>, seq: u64) {
        if client.pending.as_ref().is_some_and(|p| p.seq == seq) {
            ctx.send(client.server, Msg::Request { seq });
        }
    }

    /// Sends the request once more and never again (the timer is not set again).
    pub const RESENDS_ONCE: Functions = Functions {
        on_timeout: resend_once,
    };

    fn resend_next(client: &mut Client, ctx: &mut Ctx<'_>, seq: u64) {
        if client.pending.as_ref().is_some_and(|p| p.seq == seq) {
            ctx.send(client.server, Msg::Request { seq: seq + 1 });
            ctx.set_timer(client.timeout, Timer::Timeout { seq });
        }
    }

    /// Resends under another sequence number, which the reply will not match.
    pub const RESENDS_ANOTHER_NUMBER: Functions = Functions {
        on_timeout: resend_next,
    };

    fn resend_twice_then_stop(client: &mut Client, ctx: &mut Ctx<'_>, seq: u64) {
        // The mistake: a retry budget, as if three sends were always enough.
        let sent = ctx.rng().random_range(0..3u32);
        if client.pending.as_ref().is_some_and(|p| p.seq == seq) && sent > 0 {
            ctx.send(client.server, Msg::Request { seq });
            ctx.set_timer(client.timeout, Timer::Timeout { seq });
        }
    }
    use clustersim::rand::Rng;

    /// Gives up at random after a few retries, as a fixed retry budget does.
    pub const GIVES_UP: Functions = Functions {
        on_timeout: resend_twice_then_stop,
    };

    fn resend_without_waiting(client: &mut Client, ctx: &mut Ctx<'_>, seq: u64) {
        if client.pending.as_ref().is_some_and(|p| p.seq == seq) {
            ctx.send(client.server, Msg::Request { seq });
        }
        // The mistake: the timer is set again only while nothing is pending, i.e. never.
        if client.pending.is_none() {
            ctx.set_timer(client.timeout, Timer::Timeout { seq });
        }
    }

    /// Sets the timer again only when nothing is pending.
    pub const TIMER_NOT_REARMED: Functions = Functions {
        on_timeout: resend_without_waiting,
    };
}

/// `lease-queue`: lease tasks instead of popping them.
pub mod lease_queue {
    use clustersim::node::NodeId;
    use clustersim_exercises::lease_queue::{Ctx, Functions, QueueServer, Timer};

    use crate::lease_queue as reference;

    const RIGHT: Functions = reference::FUNCTIONS;

    fn pop(server: &mut QueueServer, _ctx: &mut Ctx<'_>, _worker: NodeId) -> Option<u64> {
        server.ready.pop_front()
    }

    /// Pops the task (Redis `LPOP`): a crashed worker's task is gone.
    pub const POPS: Functions = Functions { take: pop, ..RIGHT };

    fn take_unleased(server: &mut QueueServer, _ctx: &mut Ctx<'_>, worker: NodeId) -> Option<u64> {
        let task = server.ready.pop_front()?;
        server.in_flight.insert(task, worker);
        Some(task)
    }

    /// Records the task in flight but sets no lease timer, so it never comes back.
    pub const NO_LEASE_TIMER: Functions = Functions {
        take: take_unleased,
        ..RIGHT
    };

    fn ignore_ack(_server: &mut QueueServer, _ctx: &mut Ctx<'_>, _task: u64) {}

    /// Ignores acknowledgements: every lease runs out and every task is handed out again.
    pub const IGNORES_ACKS: Functions = Functions {
        on_ack: ignore_ack,
        ..RIGHT
    };

    fn requeue_always(server: &mut QueueServer, _ctx: &mut Ctx<'_>, task: u64) {
        server.in_flight.remove(&task);
        server.ready.push_back(task);
    }

    /// Puts a task back when its lease runs out even if it was acknowledged meanwhile.
    pub const REQUEUES_ACKED_TASKS: Functions = Functions {
        on_lease_expired: requeue_always,
        ..RIGHT
    };

    fn drop_expired(server: &mut QueueServer, _ctx: &mut Ctx<'_>, task: u64) {
        server.in_flight.remove(&task);
    }

    /// Forgets a task whose lease ran out instead of handing it out again.
    pub const DROPS_EXPIRED_TASKS: Functions = Functions {
        on_lease_expired: drop_expired,
        ..RIGHT
    };

    fn short_lease(server: &mut QueueServer, ctx: &mut Ctx<'_>, worker: NodeId) -> Option<u64> {
        let task = server.ready.pop_front()?;
        server.in_flight.insert(task, worker);
        // The mistake: a lease far shorter than the work, so live workers lose their tasks.
        ctx.set_timer(
            clustersim::time::Duration(server.lease.0 / 20),
            Timer::Lease { task },
        );
        Some(task)
    }

    /// Leases a task for a twentieth of the time the work takes.
    pub const LEASE_TOO_SHORT: Functions = Functions {
        take: short_lease,
        ..RIGHT
    };
}

/// `idempotent-sink`: apply each task's effect once although deliveries repeat.
pub mod idempotent_sink {
    use clustersim::history::Op;
    use clustersim::node::NodeId;
    use clustersim_exercises::idempotent_sink::{Ctx, Functions, Msg, Sink};

    fn apply_always(_sink: &mut Sink, ctx: &mut Ctx<'_>, from: NodeId, task: u64) {
        ctx.event(Op::Effect { task });
        ctx.send(from, Msg::Ack { task });
    }

    /// Applies every delivery.
    pub const NO_DEDUP: Functions = Functions {
        on_deliver: apply_always,
    };

    fn dedup_in_memory(sink: &mut Sink, ctx: &mut Ctx<'_>, from: NodeId, task: u64) {
        if sink.seen.insert(task) {
            ctx.event(Op::Effect { task });
        }
        ctx.send(from, Msg::Ack { task });
    }

    /// Remembers applied tasks in memory only: a crash forgets them.
    pub const DEDUP_IN_MEMORY: Functions = Functions {
        on_deliver: dedup_in_memory,
    };

    fn dedup_unsynced(sink: &mut Sink, ctx: &mut Ctx<'_>, from: NodeId, task: u64) {
        if sink.seen.insert(task) {
            ctx.event(Op::Effect { task });
            ctx.storage().put(format!("seen/{task}"), task);
        }
        ctx.send(from, Msg::Ack { task });
    }

    /// Writes the record of an applied task but never syncs it.
    pub const RECORD_NOT_SYNCED: Functions = Functions {
        on_deliver: dedup_unsynced,
    };

    fn ack_first_only(sink: &mut Sink, ctx: &mut Ctx<'_>, from: NodeId, task: u64) {
        if sink.seen.insert(task) {
            ctx.event(Op::Effect { task });
            ctx.storage().put(format!("seen/{task}"), task);
            ctx.storage().sync();
            ctx.send(from, Msg::Ack { task });
        }
        // The mistake: a repeat is not acknowledged, so a lost ack is never repaired.
    }

    /// Acknowledges only the first delivery of a task.
    pub const ACKS_FIRST_ONLY: Functions = Functions {
        on_deliver: ack_first_only,
    };

    fn record_shared(sink: &mut Sink, ctx: &mut Ctx<'_>, from: NodeId, task: u64) {
        if sink.seen.insert(task) {
            ctx.event(Op::Effect { task });
            // The mistake: one key for every task, so only the last one survives a crash.
            ctx.storage().put("seen", task);
            ctx.storage().sync();
        }
        ctx.send(from, Msg::Ack { task });
    }

    /// Records only the last applied task durably (one key for all).
    pub const RECORDS_LAST_ONLY: Functions = Functions {
        on_deliver: record_shared,
    };
}

/// `durable-counter`: an acknowledged increment survives a crash.
pub mod durable_counter {
    use clustersim_exercises::durable_counter::{Ctx, Functions, Server};

    fn in_memory(server: &mut Server, _ctx: &mut Ctx<'_>) -> u64 {
        server.count += 1;
        server.count
    }

    /// Counts in memory only.
    pub const IN_MEMORY: Functions = Functions {
        increment: in_memory,
    };

    fn unsynced(server: &mut Server, ctx: &mut Ctx<'_>) -> u64 {
        server.count += 1;
        ctx.storage().put("count", server.count);
        server.count
    }

    /// Writes the count but never syncs it.
    pub const NEVER_SYNCS: Functions = Functions {
        increment: unsynced,
    };

    fn sync_then_write(server: &mut Server, ctx: &mut Ctx<'_>) -> u64 {
        server.count += 1;
        ctx.storage().sync();
        ctx.storage().put("count", server.count);
        server.count
    }

    /// Syncs before it writes, so the new count is never durable when acknowledged.
    pub const SYNCS_BEFORE_WRITING: Functions = Functions {
        increment: sync_then_write,
    };

    fn every_tenth(server: &mut Server, ctx: &mut Ctx<'_>) -> u64 {
        server.count += 1;
        ctx.storage().put("count", server.count);
        // The mistake: sync in batches of ten to save disk flushes, acknowledging in between.
        if server.count.is_multiple_of(10) {
            ctx.storage().sync();
        }
        server.count
    }

    /// Syncs every tenth increment and acknowledges the others unsynced.
    pub const SYNCS_EVERY_TENTH: Functions = Functions {
        increment: every_tenth,
    };

    fn write_old(server: &mut Server, ctx: &mut Ctx<'_>) -> u64 {
        // The mistake: the value before the increment is saved.
        ctx.storage().put("count", server.count);
        ctx.storage().sync();
        server.count += 1;
        server.count
    }

    /// Saves the count before incrementing it: the acknowledged value is one ahead of the disk.
    pub const SAVES_BEFORE_INCREMENT: Functions = Functions {
        increment: write_old,
    };
}

/// `sync-replication`: acknowledge a write once the backup has it.
pub mod sync_replication {
    use clustersim::node::NodeId;
    use clustersim_exercises::sync_replication::{Ctx, Functions, Msg, Primary};

    use crate::sync_replication as reference;

    const RIGHT: Functions = reference::FUNCTIONS;

    fn ack_at_once(primary: &mut Primary, ctx: &mut Ctx<'_>, client: NodeId, v: u64) {
        primary.values.push(v);
        ctx.send(primary.backup, Msg::Replicate { v });
        ctx.send(client, Msg::PutOk { v });
    }

    /// Acknowledges as soon as the copy is sent (asynchronous replication).
    pub const ACKS_BEFORE_BACKUP: Functions = Functions {
        on_put: ack_at_once,
        ..RIGHT
    };

    fn never_replicate(primary: &mut Primary, ctx: &mut Ctx<'_>, client: NodeId, v: u64) {
        primary.values.push(v);
        ctx.send(client, Msg::PutOk { v });
    }

    /// Never copies to the backup.
    pub const NEVER_REPLICATES: Functions = Functions {
        on_put: never_replicate,
        ..RIGHT
    };

    fn forget_client(_primary: &mut Primary, _ctx: &mut Ctx<'_>, _v: u64) {}

    /// Waits for the backup, then never tells the client.
    pub const NEVER_ACKNOWLEDGES: Functions = Functions {
        on_backup_ack: forget_client,
        ..RIGHT
    };

    fn ack_every_other(primary: &mut Primary, ctx: &mut Ctx<'_>, client: NodeId, v: u64) {
        // The mistake: only every other write waits for the backup ("half the latency").
        if primary.values.len().is_multiple_of(2) {
            ack_at_once(primary, ctx, client, v);
        } else {
            reference::on_put(primary, ctx, client, v);
        }
    }

    /// Waits for the backup on every other write only.
    pub const WAITS_FOR_HALF: Functions = Functions {
        on_put: ack_every_other,
        ..RIGHT
    };

    fn ack_on_send(primary: &mut Primary, ctx: &mut Ctx<'_>, client: NodeId, v: u64) {
        reference::on_put(primary, ctx, client, v);
        // The mistake: the ack goes out with the copy; the backup's answer is then ignored.
        if let Some(client) = primary.waiting.remove(&v) {
            ctx.send(client, Msg::PutOk { v });
        }
    }

    /// Acknowledges with the copy, then ignores the backup's answer.
    pub const ACKS_WITH_THE_COPY: Functions = Functions {
        on_put: ack_on_send,
        ..RIGHT
    };
}

/// `anti-entropy`: digests repair what gossip lost.
pub mod anti_entropy {
    use clustersim::node::NodeId;
    use clustersim_exercises::anti_entropy::{Ctx, Functions, Msg, Peer};

    use crate::anti_entropy as reference;

    const RIGHT: Functions = reference::FUNCTIONS;

    fn no_tick(_peer: &mut Peer, _ctx: &mut Ctx<'_>) {}

    /// Never sends a digest.
    pub const NO_DIGESTS: Functions = Functions {
        anti_entropy_tick: no_tick,
        ..RIGHT
    };

    fn ignore_digest(_peer: &mut Peer, _ctx: &mut Ctx<'_>, _from: NodeId, _have: Vec<u64>) {}

    /// Ignores digests it receives.
    pub const IGNORES_DIGESTS: Functions = Functions {
        on_digest: ignore_digest,
        ..RIGHT
    };

    fn first_peer(peer: &mut Peer, ctx: &mut Ctx<'_>) {
        // The mistake: always the same peer, so the rest of the cluster is never repaired.
        let to = peer.peers[0];
        let have = peer.messages.iter().copied().collect();
        ctx.send(to, Msg::Digest { have });
    }

    /// Sends every digest to the same peer.
    pub const ALWAYS_THE_SAME_PEER: Functions = Functions {
        anti_entropy_tick: first_peer,
        ..RIGHT
    };

    fn answer_with_own_digest(peer: &mut Peer, ctx: &mut Ctx<'_>, from: NodeId, _have: Vec<u64>) {
        // The mistake: a digest is answered with a digest, not with the messages it lacks.
        let have = peer.messages.iter().copied().collect();
        ctx.send(from, Msg::Digest { have });
    }

    /// Answers a digest with its own digest, never with messages.
    pub const ANSWERS_DIGEST_WITH_DIGEST: Functions = Functions {
        on_digest: answer_with_own_digest,
        ..RIGHT
    };

    fn compare_sizes(peer: &mut Peer, ctx: &mut Ctx<'_>, from: NodeId, have: Vec<u64>) {
        // The mistake: a digest as long as this node's is taken to hold the same messages.
        if have.len() >= peer.messages.len() {
            return;
        }
        reference::on_digest(peer, ctx, from, have);
    }

    /// Compares the digest's size with its own instead of its contents.
    pub const COMPARES_SIZES: Functions = Functions {
        on_digest: compare_sizes,
        ..RIGHT
    };
}

/// `exactly-once`: retries, deduplication, a dedup table that survives a crash.
pub mod exactly_once {
    use clustersim::node::NodeId;
    use clustersim_exercises::exactly_once::{Client, Ctx, Functions, Msg, Server};

    use crate::exactly_once as reference;

    const RIGHT: Functions = reference::FUNCTIONS;

    fn apply_every_time(
        server: &mut Server,
        ctx: &mut Ctx<'_>,
        from: NodeId,
        req: u64,
        value: u64,
    ) {
        let position = server.apply(ctx, value);
        ctx.send(from, Msg::Appended { req, position });
    }

    /// Retries but applies every copy of a request.
    pub const NO_DEDUP: Functions = Functions {
        on_request: apply_every_time,
        ..RIGHT
    };

    fn dedup_in_memory(server: &mut Server, ctx: &mut Ctx<'_>, from: NodeId, req: u64, value: u64) {
        let position = match server.answered.get(&(from, req)) {
            Some(p) => *p,
            None => {
                let p = server.apply(ctx, value);
                server.answered.insert((from, req), p);
                p
            }
        };
        ctx.send(from, Msg::Appended { req, position });
    }

    /// Deduplicates with a table kept in memory only.
    pub const DEDUP_IN_MEMORY: Functions = Functions {
        on_request: dedup_in_memory,
        ..RIGHT
    };

    fn drop_repeats(server: &mut Server, ctx: &mut Ctx<'_>, from: NodeId, req: u64, value: u64) {
        // The mistake: a repeat is recognised but not answered, so a lost answer is never
        // repaired and the client waits forever.
        if server.answered.contains_key(&(from, req)) {
            return;
        }
        reference::on_request(server, ctx, from, req, value);
    }

    /// Recognises a repeat and ignores it instead of answering it again.
    pub const IGNORES_REPEATS: Functions = Functions {
        on_request: drop_repeats,
        ..RIGHT
    };

    fn dedup_by_value(server: &mut Server, ctx: &mut Ctx<'_>, from: NodeId, req: u64, value: u64) {
        // The mistake: a repeat is recognised by request number alone, whoever sent it, so
        // two clients' first requests look like one.
        let key = server.answered.keys().find(|(_, r)| *r == req).copied();
        match key.and_then(|k| server.answered.get(&k).copied()) {
            Some(position) => ctx.send(from, Msg::Appended { req, position }),
            None => reference::on_request(server, ctx, from, req, value),
        }
    }

    /// Deduplicates by request number alone, not by client and request number.
    pub const DEDUP_BY_NUMBER_ONLY: Functions = Functions {
        on_request: dedup_by_value,
        ..RIGHT
    };

    fn wait_only(client: &mut Client, ctx: &mut Ctx<'_>, req: u64) {
        if client.pending.as_ref().is_some_and(|p| p.req == req) {
            ctx.set_timer(
                client.timeout,
                clustersim_exercises::exactly_once::Timer::Timeout { req },
            );
        }
    }

    /// Never sends a request again.
    pub const NEVER_RETRIES: Functions = Functions {
        on_timeout: wait_only,
        ..RIGHT
    };
}

/// `broadcast`: every value to every node, cheaply and fast.
pub mod broadcast {
    use clustersim::node::NodeId;
    use clustersim_exercises::broadcast::{Ctx, Functions, Msg, Node};

    use crate::broadcast as reference;

    const RIGHT: Functions = reference::FUNCTIONS;

    fn tell_everyone(node: &mut Node, ctx: &mut Ctx<'_>, value: u64) {
        for p in node.peers() {
            ctx.send(p, Msg::Values(vec![value]));
        }
    }

    fn flood(node: &mut Node, ctx: &mut Ctx<'_>, _from: NodeId, msg: Msg) {
        if let Msg::Values(vs) = msg {
            for v in vs {
                if node.learn(ctx, v) {
                    tell_everyone(node, ctx, v);
                }
            }
        }
    }

    /// Floods every new value to every peer at once.
    pub const FLOODS: Functions = Functions {
        on_broadcast: tell_everyone,
        on_message: flood,
        on_tick: |_, _| {},
    };

    fn batch_only(node: &mut Node, ctx: &mut Ctx<'_>) {
        // The batches without the digests: nothing repairs a loss or a partition.
        if !node.outbox.is_empty() {
            let batch = std::mem::take(&mut node.outbox);
            for peer in node.peers() {
                ctx.send(peer, Msg::Values(batch.clone()));
            }
        }
    }

    /// Sends each batch to everyone but never repairs what was lost.
    pub const NO_REPAIR: Functions = Functions {
        on_tick: batch_only,
        ..RIGHT
    };

    fn forget_relays(node: &mut Node, ctx: &mut Ctx<'_>, from: NodeId, msg: Msg) {
        // The mistake: values learned from others are not passed on, only one's own.
        if let Msg::Values(values) = msg {
            for v in values {
                node.learn(ctx, v);
            }
            return;
        }
        reference::on_message(node, ctx, from, msg);
    }

    /// Passes on only the values given to it, never those it learned.
    pub const NEVER_RELAYS: Functions = Functions {
        on_message: forget_relays,
        ..RIGHT
    };

    fn tell_one(node: &mut Node, ctx: &mut Ctx<'_>) {
        // The mistake: a batch goes to one random peer instead of the overlay.
        if !node.outbox.is_empty() {
            let batch = std::mem::take(&mut node.outbox);
            let peers = node.peers();
            use clustersim::rand::Rng;
            let to = peers[ctx.rng().random_range(0..peers.len())];
            ctx.send(to, Msg::Values(batch));
        }
    }

    /// Sends each batch to one random peer and relies on that.
    pub const ONE_PEER_PER_BATCH: Functions = Functions {
        on_tick: tell_one,
        ..RIGHT
    };

    fn digest_every_tick(node: &mut Node, ctx: &mut Ctx<'_>) {
        reference::on_tick(node, ctx);
        // The mistake: a digest to every peer on every tick.
        let have: Vec<u64> = node.values.iter().copied().collect();
        for p in node.peers() {
            ctx.send(p, Msg::Have(have.clone()));
        }
    }

    /// Sends a digest to every peer on every tick.
    pub const DIGESTS_EVERYONE: Functions = Functions {
        on_tick: digest_every_tick,
        ..RIGHT
    };
}
