#!/usr/bin/env python3
"""A planted bug: challenge 5a's single-node log run on several nodes. Each node assigns offsets
from its own copy of each log and tells the others about the message, which append it at their
own next offset. Two nodes taking sends to one key at once give two messages one offset.
"""
from maelstrom import Node

node = Node()
logs = {}
committed = {}


def append(key, value):
    log = logs.setdefault(key, [])
    offset = log[-1][0] + 1 if log else 0
    log.append([offset, value])
    return offset


# ANCHOR: bug
@node.handler("send")
def send(msg):
    key, value = msg["body"]["key"], msg["body"]["msg"]
    offset = append(key, value)
    for n in node.node_ids:
        if n != node.node_id:
            node.send(n, {"type": "replicate", "key": key, "msg": value})
    node.reply(msg, {"type": "send_ok", "offset": offset})


@node.handler("replicate")
def replicate(msg):
    append(msg["body"]["key"], msg["body"]["msg"])

# ANCHOR_END: bug

@node.handler("poll")
def poll(msg):
    out = {}
    for key, start in msg["body"]["offsets"].items():
        pairs = [p for p in logs.get(key, []) if p[0] >= start][:10]
        if pairs:
            out[key] = pairs
    node.reply(msg, {"type": "poll_ok", "msgs": out})


@node.handler("commit_offsets")
def commit_offsets(msg):
    for key, offset in msg["body"]["offsets"].items():
        committed[key] = max(committed.get(key, -1), offset)
    node.reply(msg, {"type": "commit_offsets_ok"})


@node.handler("list_committed_offsets")
def list_committed_offsets(msg):
    keys = msg["body"]["keys"]
    node.reply(msg, {"type": "list_committed_offsets_ok",
                     "offsets": {k: committed[k] for k in keys if k in committed}})


node.run()
