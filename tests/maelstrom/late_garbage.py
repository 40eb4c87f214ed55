#!/usr/bin/env python3
"""Test node: answers init, then answers its third echo with a line that is not JSON."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "maelstrom", "python"))
from maelstrom import Node  # noqa: E402

node = Node()
seen = [0]


@node.handler("echo")
def echo(msg):
    seen[0] += 1
    if seen[0] == 3:
        print("oops: not a message", flush=True)
    node.reply(msg, {"type": "echo_ok", "echo": msg["body"]["echo"]})


node.run()
