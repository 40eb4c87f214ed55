#!/usr/bin/env python3
"""Maelstrom's lin-kv workload, served by the lin-kv service: every read, write and cas is sent
on to the service (a node of the run, across the simulated network) and its answer, error or
not, goes back to the client. The service is linearizable, so is this node; a request whose
answer never comes (a partition) is never answered, and the client records it as unknown.
"""
from maelstrom import Node

node = Node()


def proxy(msg):
    body = {k: v for k, v in msg["body"].items() if k != "msg_id"}

    def answer(reply):
        out = {k: v for k, v in reply["body"].items() if k not in ("msg_id", "in_reply_to")}
        node.reply(msg, out)

    node.rpc("lin-kv", body, answer)


for kind in ("read", "write", "cas"):
    node.handler(kind)(proxy)

node.run()
