#!/usr/bin/env python3
"""Gossip Glomers challenge 2: unique ids, even across crashes.

An id is node, boot and a counter. The boot number is kept in the node's directory, so a
restarted node (whose counter starts again at 0) never repeats an id of an earlier life.
"""
import os

from maelstrom import Node

node = Node()
state = {"boot": 0, "next": 0}


@node.on_init
def count_boot():
    path = os.path.join(node.dir, "boot")
    try:
        with open(path) as f:
            state["boot"] = int(f.read())
    except FileNotFoundError:
        pass
    state["boot"] += 1
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(state["boot"]))
    os.replace(tmp, path)


@node.handler("generate")
def generate(msg):
    state["next"] += 1
    node.reply(msg, {"type": "generate_ok", "id": f"{node.node_id}-{state['boot']}-{state['next']}"})


node.run()
