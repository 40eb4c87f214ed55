#!/usr/bin/env python3
"""Gossip Glomers challenge 6c: totally available read-committed transactions on registers.

Every node runs a transaction on its own copy at once and answers; then it sends the
transaction's final writes, all in one message, to every other node, stamped with a Lamport
clock (counter, node). A register keeps the write with the highest stamp, so every copy takes
the same versions in the same order, a write is seen whole or not at all, and no transaction
sees another's intermediate or aborted writes.
"""
from maelstrom import Node

node = Node()
registers = {}  # key -> (stamp, value)
clock = [0]


def install(writes, stamp):
    for key, value in writes.items():
        if key not in registers or registers[key][0] < stamp:
            registers[key] = (stamp, value)


# ANCHOR: txn
@node.handler("txn")
def txn(msg):
    clock[0] += 1
    stamp = [clock[0], node.node_id]
    done, writes = [], {}
    for f, k, v in msg["body"]["txn"]:
        key = str(k)
        if f == "r":
            if key in writes:
                done.append([f, k, writes[key]])
            else:
                done.append([f, k, registers[key][1] if key in registers else None])
        else:
            writes[key] = v
            done.append([f, k, v])
    install(writes, stamp)
    if writes:
        for n in node.node_ids:
            if n != node.node_id:
                node.send(n, {"type": "writes", "writes": writes, "stamp": stamp})
    node.reply(msg, {"type": "txn_ok", "txn": done})

# ANCHOR_END: txn

@node.handler("writes")
def replicate(msg):
    stamp = msg["body"]["stamp"]
    clock[0] = max(clock[0], stamp[0])
    install(msg["body"]["writes"], stamp)


node.run()
