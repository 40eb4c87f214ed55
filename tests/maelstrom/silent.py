#!/usr/bin/env python3
"""Test node: reads every line and never answers."""
import sys

for line in sys.stdin:
    pass
