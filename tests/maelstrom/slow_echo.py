#!/usr/bin/env python3
"""Test node: sleeps 30 ms of real time in its handler before it answers (it is not done
while it sleeps, though every thread of it sleeps)."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "maelstrom", "python"))
from maelstrom import Node  # noqa: E402

node = Node()


@node.handler("echo")
def echo(msg):
    time.sleep(0.03)
    node.reply(msg, {"type": "echo_ok", "echo": msg["body"]["echo"]})


node.run()
