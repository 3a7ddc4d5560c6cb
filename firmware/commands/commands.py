# What the node does with a message on its command topic. A command is obeyed only when the
# city's command key signed it (checked before a byte of it is parsed), it names this device,
# it has not expired, its operation is in the command key's scope, and its sequence number is
# above the last one run. The number is on flash before the command runs, so a QoS 1 redelivery,
# a retained copy or a reboot halfway runs nothing twice. Everything else is refused with its
# reason on cmd/result, counted in health, and changes nothing.
import json

from micropython import const

import store
import trustroot
from clock import EPOCH
from envelope import TrustError, open_signed

SEQ_FILE = "cmd.seq"
MAX_COMMAND = const(8192)  # a command's body; a config document is the largest (~2 KB)
_MAX_PENDING = const(8)
COMMAND_TYPE = "stadsnod-command"


class Refused(Exception):
    def __init__(self, why, seq=None, op=None):
        super().__init__(why)
        self.seq = seq
        self.op = op


def last_seq(path=SEQ_FILE):
    try:
        return int(store.read_text(path))
    except (OSError, ValueError):
        return 0


class Commands:
    def __init__(self, device_id, clock, log, root_file=trustroot.ROOT_FILE):
        self.id = device_id
        self.clock = clock
        self.log = log
        self.root_file = root_file
        self.rejected = 0
        self.done = 0
        self.last_seq = last_seq()
        self.todo = []  # accepted [seq, op, args], run by operations.serve
        self.results = []  # result documents (bytes) waiting for the broker
        self._role = None  # the command role and its keys, read from the root once

    def on_message(self, topic, msg, retained):
        try:
            seq, op, args = self.accept(msg)
        except Refused as e:
            self.rejected += 1
            self.log.warning("cmd", "refused: %s" % e)
            self.result(e.seq, e.op, "refused", str(e))
            return
        if len(self.todo) >= _MAX_PENDING:  # its number is spent: say so rather than queue
            self.result(seq, op, "failed", "busy: %d commands waiting" % len(self.todo))
            return
        self.todo.append((seq, op, args))
        self.result(seq, op, "accepted")

    def result(self, seq, op, state, detail=None):
        doc = {"seq": seq, "op": op, "result": state}
        if detail is not None:
            doc["detail"] = detail
        if len(self.results) >= _MAX_PENDING:
            self.results.pop(0)  # the oldest word goes; the node's state is in health anyway
        self.results.append(json.dumps(doc))

    def _command_role(self):
        if self._role is None:
            try:
                root = trustroot.load(self.root_file)
            except TrustError as e:
                raise Refused("trust root unusable: %s" % e)
            if root is None:
                raise Refused("no trust root provisioned: every command is refused")
            role = root.role("command")
            keys = {}
            for kid in role["keys"]:
                keys[kid] = root.keys[kid]
            self._role = (role, keys)
        return self._role

    def accept(self, msg):
        """(seq, op, args) of a command to run, its number saved; Refused otherwise."""
        role, keys = self._command_role()
        try:
            body = open_signed(msg, keys, role, MAX_COMMAND, "command")
        except TrustError as e:
            raise Refused(str(e))
        try:
            doc = json.loads(bytes(body))
            seq, op, device, expires = doc["seq"], doc["op"], doc["device"], doc["expires"]
            args = doc.get("args") or {}
            if doc.get("type") != COMMAND_TYPE or not isinstance(seq, int) \
                    or not isinstance(args, dict) or not isinstance(expires, int):
                raise ValueError("fields")
        except (ValueError, KeyError, TypeError, AttributeError):
            raise Refused("signed, but not a command document")
        if device != self.id:
            raise Refused("for device %s" % device, seq, op)
        if op not in role.get("ops", ()):
            raise Refused("%s is outside the command key's scope" % op, seq, op)
        if seq <= self.last_seq:
            raise Refused("replayed: seq %d, last run %d" % (seq, self.last_seq), seq, op)
        now = self.clock.now()
        if now is None:
            raise Refused("clock not set: expiry cannot be checked", seq, op)
        if expires - EPOCH <= now[0]:  # one long-int subtraction per command
            raise Refused("expired", seq, op)
        store.write_atomic(SEQ_FILE, str(seq))  # before it runs: never twice
        self.last_seq = seq
        return seq, op, args
