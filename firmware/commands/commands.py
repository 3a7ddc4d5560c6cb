# What the node does with a message on its command topic. A command is obeyed only when the
# city's command key signed it (checked before a byte of it is parsed), it names this device,
# it has not expired, its operation is in the command key's scope, and its sequence number is
# above the last one run. The number is on flash before the command runs, so a QoS 1 redelivery,
# a retained copy or a reboot halfway runs nothing twice. Everything else is refused with its
# reason on cmd/result, counted in health, and changes nothing. A new trust root arrives on the
# same topic, signed by the root keys (not the command key) and taken only as version N+1.
import json

from micropython import const

import store
import trustroot
from clock import EPOCH
from envelope import MAGIC, TrustError, open_signed, unwrap

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
        self.running = None  # the seq of the command being run
        self.results = []  # result documents (bytes) waiting for the broker
        self._role = None  # what _trust() read from the root

    def on_message(self, topic, msg, retained):
        try:
            if self._from_root_keys(msg):  # a new trust root, not a command
                root = trustroot.rotate(trustroot.load(self.root_file), msg, self.root_file)
                self._role = None  # the command keys may have changed with it
                self.result(None, "root", "done", "trust root v%d" % root.version)
                return
            seq, op, args = self.accept(msg)
        except Refused as e:
            self.rejected += 1
            self.log.warning("cmd", "refused: %s" % e)
            self.result(e.seq, e.op, "refused", str(e))
            return
        except TrustError as e:  # a root that does not follow the one installed
            self.rejected += 1
            self.log.warning("cmd", "root refused: %s" % e)
            self.result(None, "root", "refused", str(e))
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

    def _from_root_keys(self, msg):
        """Whether an envelope carries a signature under one of the root role's key ids: then
        it is a new root (TUF's rotation), checked in full by trustroot.rotate."""
        if not msg.startswith(MAGIC):
            return False
        root_ids = self._trust()[0]
        try:
            _, sigs = unwrap(msg, trustroot.MAX_ROOT)
        except TrustError:
            return False
        for kid, _ in sigs:
            if kid.hex() in root_ids:
                return True
        return False

    def _trust(self):
        """(root key ids, command role, command keys) of the installed root, read once (its
        self-signature costs two RSA checks) and again after a rotation."""
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
            self._role = (root.role("root")["keys"], role, keys)
        return self._role

    def accept(self, msg):
        """(seq, op, args) of a command to run, its number saved; Refused otherwise."""
        _, role, keys = self._trust()
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
