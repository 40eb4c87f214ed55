#!/usr/bin/env python3
"""A planted bug: register transactions whose writes are sent to the other nodes one message per
write, as they happen, and installed when they arrive. A transaction writing a key twice sends
both values; the messages may arrive in either order, and a node where the first arrives last
serves the transaction's intermediate value as if it were committed (G1b).
"""
from maelstrom import Node

node = Node()
registers = {}


@node.handler("txn")
def txn(msg):
    done = []
    for f, k, v in msg["body"]["txn"]:
        key = str(k)
        if f == "r":
            done.append([f, k, registers.get(key)])
        else:
            registers[key] = v
            for n in node.node_ids:
                if n != node.node_id:
                    node.send(n, {"type": "write", "key": key, "value": v})
            done.append([f, k, v])
    node.reply(msg, {"type": "txn_ok", "txn": done})


@node.handler("write")
def replicate(msg):
    registers[msg["body"]["key"]] = msg["body"]["value"]


node.run()
