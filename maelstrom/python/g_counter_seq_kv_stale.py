#!/usr/bin/env python3
"""A planted bug: g_counter_seq_kv.py without the write before a read. It answers a read with
whatever seq-kv returns, trusting it to be fresh; seq-kv may return a past value, so a final
read can miss adds other nodes made.
"""
from maelstrom import Node, PRECONDITION_FAILED

KEY = "counter"
node = Node()


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


@node.handler("read")
def read(msg):
    def answer(reply):
        body = reply["body"]
        value = body.get("value", 0) if body["type"] == "read_ok" else 0
        node.reply(msg, {"type": "read_ok", "value": value})

    node.rpc("seq-kv", {"type": "read", "key": KEY}, answer)


node.run()
