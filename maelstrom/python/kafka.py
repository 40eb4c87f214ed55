#!/usr/bin/env python3
"""Gossip Glomers challenge 5: Kafka-style logs, kept by one leader.

The first node of init's node_ids is the leader: it assigns each key's offsets in order, keeps
the logs and the committed offsets, and writes every change to its directory before it answers
(so a restarted leader has them). Every other node sends each request on to the leader and
its answer back to the client; while the leader is cut off, requests go unanswered and the
clients record them as unknown, never wrong.
"""
import json
import os

from maelstrom import Node

node = Node()
logs = {}  # key -> [[offset, msg], ...]
committed = {}  # key -> offset


def journal():
    return os.path.join(node.dir, "journal")


def leader():
    return node.node_ids[0]


@node.on_init
def recover():
    if node.node_id != leader():
        return
    try:
        with open(journal()) as f:
            for line in f:
                entry = json.loads(line)
                if entry[0] == "send":
                    logs.setdefault(entry[1], []).append([entry[2], entry[3]])
                else:
                    committed[entry[1]] = max(committed.get(entry[1], -1), entry[2])
    except FileNotFoundError:
        pass


def persist(entry):
    with open(journal(), "a") as f:
        f.write(json.dumps(entry) + "\n")
        f.flush()
        os.fsync(f.fileno())


def forward(msg):
    body = {k: v for k, v in msg["body"].items() if k != "msg_id"}

    def answer(reply):
        node.reply(msg, {k: v for k, v in reply["body"].items() if k not in ("msg_id", "in_reply_to")})

    node.rpc(leader(), body, answer)


def leads(fn):
    def handle(msg):
        if node.node_id != leader():
            forward(msg)
        else:
            fn(msg)

    return handle


@node.handler("send")
@leads
def send(msg):
    key, value = msg["body"]["key"], msg["body"]["msg"]
    log = logs.setdefault(key, [])
    offset = log[-1][0] + 1 if log else 0
    persist(["send", key, offset, value])
    log.append([offset, value])
    node.reply(msg, {"type": "send_ok", "offset": offset})


@node.handler("poll")
@leads
def poll(msg):
    out = {}
    for key, start in msg["body"]["offsets"].items():
        pairs = [p for p in logs.get(key, []) if p[0] >= start][:10]
        if pairs:
            out[key] = pairs
    node.reply(msg, {"type": "poll_ok", "msgs": out})


@node.handler("commit_offsets")
@leads
def commit_offsets(msg):
    for key, offset in msg["body"]["offsets"].items():
        if offset > committed.get(key, -1):
            persist(["commit", key, offset])
            committed[key] = offset
    node.reply(msg, {"type": "commit_offsets_ok"})


@node.handler("list_committed_offsets")
@leads
def list_committed_offsets(msg):
    keys = msg["body"]["keys"]
    node.reply(msg, {"type": "list_committed_offsets_ok",
                     "offsets": {k: committed[k] for k in keys if k in committed}})


node.run()
