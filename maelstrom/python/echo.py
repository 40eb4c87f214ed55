#!/usr/bin/env python3
"""Gossip Glomers challenge 1: echo."""
from maelstrom import Node

node = Node()


@node.handler("echo")
def echo(msg):
    node.reply(msg, {"type": "echo_ok", "echo": msg["body"]["echo"]})


node.run()
