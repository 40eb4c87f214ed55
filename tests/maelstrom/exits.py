#!/usr/bin/env python3
"""Test node: exits at once with status 3, after a word on stderr."""
import sys

print("exits.py: giving up", file=sys.stderr)
sys.exit(3)
