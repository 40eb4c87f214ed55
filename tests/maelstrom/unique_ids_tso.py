#!/usr/bin/env python3
"""Test node: answers `generate` with a timestamp from the lin-tso service."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "maelstrom", "python"))
from maelstrom import Node  # noqa: E402

node = Node()


@node.handler("generate")
def generate(msg):
    node.rpc("lin-tso", {"type": "ts"},
             lambda reply: node.reply(msg, {"type": "generate_ok", "id": reply["body"]["ts"]}))


node.run()
