#!/usr/bin/env python3
"""A broadcast node with a planted bug: gossip that forgets.

Like broadcast.py, except that a value a neighbour has not acknowledged after two gossip rounds
is given up on, on the theory that "it must have got it from someone else". In a healthy
network every gossip is answered at once and nothing is lost. During a partition every value
learnt on one side is given up on before the partition heals, so the other side never learns
it: the final reads miss acknowledged values.
"""
import os

from maelstrom import Node

GIVE_UP_AFTER = 2  # gossip rounds

node = Node()
messages = set()
neighbours = []
pending = {}  # neighbour -> {value: rounds sent}


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
    for n in neighbours:
        if n != source:
            for v in new:
                pending.setdefault(n, {})[v] = 0


@node.handler("topology")
def topology(msg):
    neighbours[:] = msg["body"]["topology"].get(node.node_id, [])
    node.reply(msg, {"type": "topology_ok"})
    node.every(0.1, gossip)


@node.handler("broadcast")
def broadcast(msg):
    learn([msg["body"]["message"]])
    node.reply(msg, {"type": "broadcast_ok"})


@node.handler("read")
def read(msg):
    node.reply(msg, {"type": "read_ok", "messages": sorted(messages)})


@node.handler("gossip")
def on_gossip(msg):
    values = msg["body"]["messages"]
    learn(values, source=msg["src"])
    node.reply(msg, {"type": "gossip_ok", "messages": values})


# ANCHOR: bug
def gossip():
    for n in neighbours:
        waiting = pending.get(n, {})
        for v in list(waiting):
            if waiting[v] >= GIVE_UP_AFTER:
                del waiting[v]  # BUG: forgotten, though n never acknowledged it
            else:
                waiting[v] += 1
        if waiting:
            node.rpc(n, {"type": "gossip", "messages": sorted(waiting)}, acknowledged)
# ANCHOR_END: bug


def acknowledged(reply):
    waiting = pending.get(reply["src"], {})
    for v in reply["body"]["messages"]:
        waiting.pop(v, None)


node.run()
