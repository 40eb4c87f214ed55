#!/usr/bin/env python3
"""Test node: ids from the wall clock (unique, but no two runs alike)."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "maelstrom", "python"))
from maelstrom import Node  # noqa: E402

node = Node()


@node.handler("generate")
def generate(msg):
    node.reply(msg, {"type": "generate_ok", "id": f"{node.node_id}-{time.time_ns()}"})


node.run()
