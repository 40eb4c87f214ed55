#!/usr/bin/env python3
"""Test node: echoes the text of the request before (the first gets its own)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "maelstrom", "python"))
from maelstrom import Node  # noqa: E402

node = Node()
last = [None]


@node.handler("echo")
def echo(msg):
    text = msg["body"]["echo"]
    node.reply(msg, {"type": "echo_ok", "echo": last[0] or text})
    last[0] = text


node.run()
