#!/usr/bin/env python3
"""Gossip Glomers challenge 3a-3e: broadcast, partition tolerant and efficient.

Every value a node learns goes into a pending set for each neighbour but the one it came from.
Every 100 ms (a virtual timer) a node sends each neighbour one `gossip` with all of that
neighbour's pending values, unless a gossip to it is still unanswered; the neighbour answers
`gossip_ok` with the values it took, and only then are they dropped from the pending set. A
gossip unanswered for a second (lost to a partition, say) is sent again, so every value
crosses once the partition heals. Values are appended to a file in
the node's directory, and a restarted node offers all it knows to every neighbour again.

When the topology says every node neighbours every other (`Broadcast(topology: Total)`), a node
sends only the values clients gave it, straight to everyone: one hop, and no value travels
twice to one node (challenge 3d/3e's efficiency).
"""
import os

from maelstrom import Node

node = Node()
messages = set()
neighbours = []
pending = {}  # neighbour -> values it has not acknowledged
waiting = {}  # neighbour -> ticks since the gossip it has not answered
RESEND_TICKS = 10


def log_path():
    return os.path.join(node.dir, "messages")


@node.on_init
def recover():
    try:
        with open(log_path()) as f:
            messages.update(int(line) for line in f if line.strip())
    except FileNotFoundError:
        pass


def learn(values, source=None):
    new = [v for v in values if v not in messages]
    if not new:
        return
    messages.update(new)
    with open(log_path(), "a") as f:
        f.write("".join(f"{v}\n" for v in new))
    if source is not None and len(neighbours) == len(node.node_ids) - 1:
        return  # everyone heard it from the node a client gave it to
    for n in neighbours:
        if n != source:
            pending.setdefault(n, set()).update(new)


@node.handler("topology")
def topology(msg):
    neighbours[:] = msg["body"]["topology"].get(node.node_id, [])
    for n in neighbours:
        pending.setdefault(n, set()).update(messages)
    node.reply(msg, {"type": "topology_ok"})
    node.every(0.1, gossip)


@node.handler("broadcast")
def broadcast(msg):
    learn([msg["body"]["message"]])
    node.reply(msg, {"type": "broadcast_ok"})


@node.handler("read")
def read(msg):
    node.reply(msg, {"type": "read_ok", "messages": sorted(messages)})


# ANCHOR: gossip
@node.handler("gossip")
def on_gossip(msg):
    values = msg["body"]["messages"]
    learn(values, source=msg["src"])
    node.reply(msg, {"type": "gossip_ok", "messages": values})


def gossip():
    for n in neighbours:
        if n in waiting and waiting[n] < RESEND_TICKS:
            waiting[n] += 1
            continue
        values = sorted(pending.get(n, ()))
        if values:
            waiting[n] = 0
            node.rpc(n, {"type": "gossip", "messages": values}, acknowledged)


def acknowledged(reply):
    waiting.pop(reply["src"], None)
    pending.get(reply["src"], set()).difference_update(reply["body"]["messages"])

# ANCHOR_END: gossip


node.run()
