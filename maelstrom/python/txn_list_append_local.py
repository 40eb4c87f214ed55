#!/usr/bin/env python3
"""A planted bug: list-append transactions run on each node's own lists, the appends then sent
to the other nodes, which apply them when they arrive. Two nodes appending to one key at once
end with the same elements in different orders, and reads show both orders.
"""
from maelstrom import Node

node = Node()
lists = {}


@node.handler("txn")
def txn(msg):
    done, appends = [], []
    for f, k, v in msg["body"]["txn"]:
        key = str(k)
        if f == "r":
            done.append([f, k, list(lists[key]) if key in lists else None])
        else:
            lists.setdefault(key, []).append(v)
            appends.append([key, v])
            done.append([f, k, v])
    if appends:
        for n in node.node_ids:
            if n != node.node_id:
                node.send(n, {"type": "appends", "appends": appends})
    node.reply(msg, {"type": "txn_ok", "txn": done})


@node.handler("appends")
def apply(msg):
    for key, v in msg["body"]["appends"]:
        lists.setdefault(key, []).append(v)


node.run()
