#!/usr/bin/env python3
"""Gossip Glomers challenge 4: a grow-only counter, as a state-based CRDT.

Each node counts the adds it took (kept in its directory before it answers) and every 100 ms
(a virtual timer) sends every other node its view of everyone's counts; a node merges a view by
taking the larger count per node. A read answers the sum of its view. Lost or partitioned
gossip is simply sent again on the next tick, so all views meet once the network heals.
"""
import os

from maelstrom import Node

node = Node()
counts = {}


def own_path():
    return os.path.join(node.dir, "count")


@node.on_init
def recover():
    try:
        with open(own_path()) as f:
            counts[node.node_id] = int(f.read())
    except FileNotFoundError:
        counts[node.node_id] = 0
    node.every(0.1, gossip)


@node.handler("add")
def add(msg):
    counts[node.node_id] += msg["body"]["delta"]
    tmp = own_path() + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(counts[node.node_id]))
    os.replace(tmp, own_path())
    node.reply(msg, {"type": "add_ok"})


@node.handler("read")
def read(msg):
    node.reply(msg, {"type": "read_ok", "value": sum(counts.values())})


@node.handler("counts")
def merge(msg):
    for n, c in msg["body"]["counts"].items():
        counts[n] = max(counts.get(n, 0), c)


def gossip():
    for n in node.node_ids:
        if n != node.node_id:
            node.send(n, {"type": "counts", "counts": counts})


node.run()
