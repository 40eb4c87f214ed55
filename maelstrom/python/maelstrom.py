"""A Maelstrom node in Python (standard library only), with clustersim's virtual timers.

    from maelstrom import Node
    node = Node()

    @node.handler("echo")
    def echo(msg):
        node.reply(msg, {"type": "echo_ok", "echo": msg["body"]["echo"]})

    node.run()

Messages are dicts as Maelstrom writes them: {"src", "dest", "body": {"type", "msg_id", ...}}.
A handler may raise RPCError(code, text) to answer with Maelstrom's error message.

Timers: node.after(seconds, fn) and node.every(seconds, fn). Under clustersim
(CLUSTERSIM_NODE_DIR is set) they are virtual: the node asks clustersim for a tick
({"dest": "clustersim", "body": {"type": "set_timer", "ms": ..., "tag": ...}}) and runs fn
when the tick arrives, so a run replays exactly. Under Maelstrom they are threads on the wall
clock.

Persistence: node.dir is a directory that survives the node's crashes (CLUSTERSIM_NODE_DIR);
anything else the process held is gone after a crash.
"""

import json
import os
import sys
import threading

CLUSTERSIM = "clustersim"

# Maelstrom's error codes.
TIMEOUT = 0
NODE_NOT_FOUND = 1
NOT_SUPPORTED = 10
TEMPORARILY_UNAVAILABLE = 11
MALFORMED_REQUEST = 12
CRASH = 13
ABORT = 14
KEY_DOES_NOT_EXIST = 20
KEY_ALREADY_EXISTS = 21
PRECONDITION_FAILED = 22
TXN_CONFLICT = 30


class RPCError(Exception):
    """An error answered to the request being handled: Maelstrom's {"type": "error"}."""

    def __init__(self, code, text=""):
        super().__init__(text)
        self.code = code
        self.text = text


class Node:
    """One Maelstrom node: handlers by message type, replies, RPCs, timers."""

    def __init__(self):
        self.node_id = None
        self.node_ids = []
        self.dir = os.environ.get("CLUSTERSIM_NODE_DIR", ".")
        self.virtual = "CLUSTERSIM_NODE_DIR" in os.environ
        self._handlers = {}
        self._callbacks = {}
        self._timers = {}
        self._next_msg_id = 0
        self._next_timer = 0
        self._on_init = []
        self._lock = threading.RLock()

    # -- registering ---------------------------------------------------------------------
    def handler(self, kind):
        """Decorator: handle messages whose body type is `kind`."""

        def register(fn):
            self._handlers[kind] = fn
            return fn

        return register

    def on_init(self, fn):
        """Decorator: run fn() once init has set node_id and node_ids."""
        self._on_init.append(fn)
        return fn

    # -- sending -------------------------------------------------------------------------
    def send(self, dest, body):
        """Sends body to dest."""
        line = json.dumps({"src": self.node_id, "dest": dest, "body": body})
        with self._lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def reply(self, request, body):
        """Answers request with body (in_reply_to set)."""
        body = dict(body)
        body["in_reply_to"] = request["body"].get("msg_id")
        self.send(request["src"], body)

    def rpc(self, dest, body, callback):
        """Sends body with a fresh msg_id; callback(reply) runs when the reply arrives."""
        self._next_msg_id += 1
        msg_id = self._next_msg_id
        body = dict(body)
        body["msg_id"] = msg_id
        self._callbacks[msg_id] = callback
        self.send(dest, body)
        return msg_id

    def forget(self, msg_id):
        """Drops the callback of an RPC (a reply arriving later is ignored)."""
        self._callbacks.pop(msg_id, None)

    def log(self, *parts):
        """Writes a line to stderr (clustersim keeps it with the run's logs)."""
        print(*parts, file=sys.stderr, flush=True)

    # -- timers --------------------------------------------------------------------------
    def after(self, seconds, fn):
        """Runs fn() once, `seconds` from now (virtual time under clustersim)."""
        self._next_timer += 1
        tag = self._next_timer
        self._timers[tag] = fn
        if self.virtual:
            self.send(CLUSTERSIM, {"type": "set_timer", "ms": seconds * 1000.0, "tag": tag})
        else:
            t = threading.Timer(seconds, self._fire, args=(tag,))
            t.daemon = True
            t.start()
        return tag

    def cancel(self, tag):
        """Cancels a timer set by after()."""
        self._timers.pop(tag, None)

    def every(self, seconds, fn):
        """Runs fn() every `seconds` (virtual time under clustersim), first after `seconds`."""

        def tick():
            fn()
            self.after(seconds, tick)

        self.after(seconds, tick)

    def _fire(self, tag):
        with self._lock:
            fn = self._timers.pop(tag, None)
            if fn is not None:
                fn()

    # -- the loop --------------------------------------------------------------------------
    def _handle(self, msg):
        body = msg["body"]
        kind = body.get("type")
        if msg["src"] == CLUSTERSIM and kind == "timer":
            fn = self._timers.pop(body.get("tag"), None)
            if fn is not None:
                fn()
            return
        if kind == "init":
            self.node_id = body["node_id"]
            self.node_ids = body["node_ids"]
            for fn in self._on_init:
                fn()
            self.reply(msg, {"type": "init_ok"})
            return
        reply_to = body.get("in_reply_to")
        if reply_to is not None:
            callback = self._callbacks.pop(reply_to, None)
            if callback is not None:
                callback(msg)
            return
        fn = self._handlers.get(kind)
        if fn is None:
            self.reply(msg, {"type": "error", "code": NOT_SUPPORTED, "text": f"no handler for {kind}"})
            return
        try:
            fn(msg)
        except RPCError as e:
            self.reply(msg, {"type": "error", "code": e.code, "text": e.text})

    def run(self):
        """Reads messages from stdin until it closes, one line each."""
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            msg = json.loads(line)
            with self._lock:
                self._handle(msg)
