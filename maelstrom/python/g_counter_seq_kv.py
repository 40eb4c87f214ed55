#!/usr/bin/env python3
"""Gossip Glomers challenge 4 as it is set: a grow-only counter kept in the seq-kv service.

An add reads the counter from seq-kv and compare-and-sets it to the sum (creating it if
missing), again from a fresh read when another add got there first. seq-kv is only
sequentially consistent: a read may return a past value. A read therefore first writes a key of
this node's own (a new value each time), which brings this node's view of seq-kv up to date,
and only then reads the counter.
"""
from maelstrom import Node, PRECONDITION_FAILED

KEY = "counter"
node = Node()
nonce = [0]


def add_to(delta, done):
    def got(reply):
        body = reply["body"]
        current = body.get("value", 0) if body["type"] == "read_ok" else 0
        cas = {"type": "cas", "key": KEY, "from": current, "to": current + delta,
               "create_if_not_exists": True}
        node.rpc("seq-kv", cas, settled)

    def settled(reply):
        body = reply["body"]
        if body["type"] == "cas_ok":
            done()
        elif body.get("code") == PRECONDITION_FAILED:
            add_to(delta, done)

    node.rpc("seq-kv", {"type": "read", "key": KEY}, got)


@node.handler("add")
def add(msg):
    add_to(msg["body"]["delta"], lambda: node.reply(msg, {"type": "add_ok"}))


# ANCHOR: read
def fresh_read(done):
    nonce[0] += 1
    sync = {"type": "write", "key": "sync-" + node.node_id, "value": nonce[0]}
    node.rpc("seq-kv", sync, lambda _: node.rpc("seq-kv", {"type": "read", "key": KEY}, done))


@node.handler("read")
def read(msg):
    def answer(reply):
        body = reply["body"]
        value = body.get("value", 0) if body["type"] == "read_ok" else 0
        node.reply(msg, {"type": "read_ok", "value": value})

    fresh_read(answer)

# ANCHOR_END: read

node.run()
