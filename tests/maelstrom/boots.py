#!/usr/bin/env python3
"""Test node: counts its boots in its directory and answers `generate` with
boot<B>-<N>-<previous>, N counted in memory from 1 in each life, <previous> "alive" when the
process of its previous boot (its pid kept in the directory) still runs, else "dead"."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "maelstrom", "python"))
from maelstrom import Node  # noqa: E402

node = Node()
state = {"boot": 0, "n": 0, "previous": "none"}


@node.on_init
def boot():
    path = os.path.join(node.dir, "boots")
    if os.path.exists(path):
        with open(path) as f:
            state["boot"] = int(f.read())
    state["boot"] += 1
    with open(path, "w") as f:
        f.write(str(state["boot"]))
    pidfile = os.path.join(node.dir, "pid")
    if os.path.exists(pidfile):
        with open(pidfile) as f:
            pid = int(f.read())
        try:
            os.kill(pid, 0)
            state["previous"] = "alive"
        except ProcessLookupError:
            state["previous"] = "dead"
    with open(pidfile, "w") as f:
        f.write(str(os.getpid()))


@node.handler("generate")
def generate(msg):
    state["n"] += 1
    node.reply(msg, {"type": "generate_ok", "id": f"boot{state['boot']}-{state['n']}-{state['previous']}"})


node.run()
