#!/usr/bin/env python3
"""Test node: never reads its input (it sleeps)."""
import time

time.sleep(3600)
