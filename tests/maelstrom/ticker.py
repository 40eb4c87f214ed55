#!/usr/bin/env python3
"""Test node: an echo node with a wall-clock thread that sends itself a tick every 20 ms."""
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "maelstrom", "python"))
from maelstrom import Node  # noqa: E402

node = Node()


@node.handler("echo")
def echo(msg):
    node.reply(msg, {"type": "echo_ok", "echo": msg["body"]["echo"]})


@node.handler("tick")
def tick(msg):
    pass


def ticker():
    while True:
        threading.Event().wait(0.02)
        if node.node_id:
            node.send(node.node_id, {"type": "tick"})


threading.Thread(target=ticker, daemon=True).start()
node.run()
