#!/usr/bin/env python3
"""Gossip Glomers' counter with decrements: a PN-counter, two grow-only counters (the sum of
the positive adds and of the negative ones), each gossiped as g_counter.py does."""
import json
import os

from maelstrom import Node

node = Node()
plus = {}
minus = {}


def own_path():
    return os.path.join(node.dir, "counts")


@node.on_init
def recover():
    try:
        with open(own_path()) as f:
            mine = json.load(f)
    except FileNotFoundError:
        mine = [0, 0]
    plus[node.node_id], minus[node.node_id] = mine
    node.every(0.1, gossip)


@node.handler("add")
def add(msg):
    delta = msg["body"]["delta"]
    side = plus if delta > 0 else minus
    side[node.node_id] += abs(delta)
    tmp = own_path() + ".tmp"
    with open(tmp, "w") as f:
        json.dump([plus[node.node_id], minus[node.node_id]], f)
    os.replace(tmp, own_path())
    node.reply(msg, {"type": "add_ok"})


@node.handler("read")
def read(msg):
    node.reply(msg, {"type": "read_ok", "value": sum(plus.values()) - sum(minus.values())})


@node.handler("counts")
def merge(msg):
    for mine, theirs in ((plus, msg["body"]["plus"]), (minus, msg["body"]["minus"])):
        for n, c in theirs.items():
            mine[n] = max(mine.get(n, 0), c)


def gossip():
    for n in node.node_ids:
        if n != node.node_id:
            node.send(n, {"type": "counts", "plus": plus, "minus": minus})


node.run()
