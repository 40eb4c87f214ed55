#!/usr/bin/env python3
"""Test node: answers init with a line that is not JSON."""
import sys

for line in sys.stdin:
    print("hello, Maelstrom", flush=True)
