#!/usr/bin/env python3
"""Test node: ids from a counter of its own, so two nodes hand out the same ids."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "maelstrom", "python"))
from maelstrom import Node  # noqa: E402

node = Node()
n = [0]


@node.handler("generate")
def generate(msg):
    n[0] += 1
    node.reply(msg, {"type": "generate_ok", "id": n[0]})


node.run()
