#!/usr/bin/env python3
"""Maelstrom's txn-list-append workload, serializable: the first node of init's node_ids runs
every transaction, one at a time, on its lists; every other node sends each transaction on to
it and its answer back. While the leader is cut off, transactions go unanswered (unknown to
the client), never wrong.
"""
from maelstrom import Node

node = Node()
lists = {}


def leader():
    return node.node_ids[0]


@node.handler("txn")
def txn(msg):
    if node.node_id != leader():
        body = {k: v for k, v in msg["body"].items() if k != "msg_id"}
        node.rpc(leader(), body, lambda reply: node.reply(
            msg, {k: v for k, v in reply["body"].items() if k not in ("msg_id", "in_reply_to")}))
        return
    done = []
    for f, k, v in msg["body"]["txn"]:
        key = str(k)
        if f == "r":
            done.append([f, k, list(lists[key]) if key in lists else None])
        else:
            lists.setdefault(key, []).append(v)
            done.append([f, k, v])
    node.reply(msg, {"type": "txn_ok", "txn": done})


node.run()
