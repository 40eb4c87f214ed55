#!/usr/bin/env python3
"""Test node: maelstrom/python/g_counter_seq_kv.py on the lww-kv service, whose replicas take a
cas against their own stale copy and lose concurrent updates when they merge."""
import os
import runpy
import sys

here = os.path.join(os.path.dirname(__file__), "..", "..", "maelstrom", "python")
sys.path.insert(0, here)
import maelstrom  # noqa: E402

send = maelstrom.Node.send


def to_lww(self, dest, body):
    send(self, "lww-kv" if dest == "seq-kv" else dest, body)


maelstrom.Node.send = to_lww
runpy.run_path(os.path.join(here, "g_counter_seq_kv.py"), run_name="__main__")
