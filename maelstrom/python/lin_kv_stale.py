#!/usr/bin/env python3
"""A planted bug: lin_kv.py with a read cache. Writes and cas go to the lin-kv service and, once
it says ok, into a local copy; a read of a key in the copy is answered from it without asking
the service. Another node's later write leaves the copy stale, and the read linearizes nowhere.
"""
from maelstrom import Node

node = Node()
cache = {}


def proxy(msg, remember=None):
    body = {k: v for k, v in msg["body"].items() if k != "msg_id"}

    def answer(reply):
        out = {k: v for k, v in reply["body"].items() if k not in ("msg_id", "in_reply_to")}
        if remember is not None and out.get("type") != "error":
            cache[body["key"]] = remember
        if out.get("type") == "read_ok":
            cache[body["key"]] = out["value"]
        node.reply(msg, out)

    node.rpc("lin-kv", body, answer)


# ANCHOR: bug
@node.handler("read")
def read(msg):
    key = msg["body"]["key"]
    if key in cache:
        node.reply(msg, {"type": "read_ok", "value": cache[key]})
    else:
        proxy(msg)

# ANCHOR_END: bug

@node.handler("write")
def write(msg):
    proxy(msg, remember=msg["body"]["value"])


@node.handler("cas")
def cas(msg):
    proxy(msg, remember=msg["body"]["to"])


node.run()
