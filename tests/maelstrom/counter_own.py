#!/usr/bin/env python3
"""Test node: a counter that never shares, so each node reads only its own adds."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "maelstrom", "python"))
from maelstrom import Node  # noqa: E402

node = Node()
total = [0]


@node.handler("add")
def add(msg):
    total[0] += msg["body"]["delta"]
    node.reply(msg, {"type": "add_ok"})


@node.handler("read")
def read(msg):
    node.reply(msg, {"type": "read_ok", "value": total[0]})


node.run()
