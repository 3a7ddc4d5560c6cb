# The checks behind commands.py, imported per message: is it a new trust root (signed by the
# root keys), or a command (signed by the command key, for this node, in scope, unexpired, newer
# than the last one run)? See commands.py for the rule; profile/wire-contract.md for the bytes.
import json

from micropython import const

import store
import trustroot
from clock import EPOCH
from commands import MAX_PENDING, SEQ_FILE
from envelope import MAGIC, TrustError, open_signed, unwrap

MAX_COMMAND = const(8192)  # a command's body; a config document is the largest (~2 KB)
COMMAND_TYPE = "stadsnod-command"


class Refused(Exception):
    def __init__(self, why, seq=None, op=None):
        super().__init__(why)
        self.seq = seq
        self.op = op


def _refused(cmds, e, seq=None, op=None):
    cmds.rejected += 1
    cmds.log.warning("cmd", "refused: %s" % e)
    cmds.result(seq, op, "refused", str(e))


def handle(cmds, msg):
    try:
        if _from_root_keys(cmds, msg):  # a new trust root, not a command
            root = trustroot.rotate(trustroot.load(cmds.root_file), msg, cmds.root_file)
            cmds.trust = None  # the command keys may have changed with it
            cmds.result(None, "root", "done", "trust root v%d" % root.version)
            return
        seq, op, args = accept(cmds, msg)
    except Refused as e:
        _refused(cmds, e, e.seq, e.op)
        return
    except TrustError as e:  # a root that does not follow the one installed
        _refused(cmds, e, None, "root")
        return
    if len(cmds.todo) >= MAX_PENDING:  # its number is spent: say so rather than queue
        cmds.result(seq, op, "failed", "busy: %d commands waiting" % len(cmds.todo))
        return
    cmds.todo.append((seq, op, args))
    cmds.result(seq, op, "accepted")


def _from_root_keys(cmds, msg):
    """Whether an envelope carries a signature under one of the root role's key ids: then it
    is a new root (TUF's rotation), checked in full by trustroot.rotate."""
    if bytes(msg[:4]) != MAGIC:
        return False
    root_ids = _trust(cmds)[0]
    try:
        _, sigs = unwrap(msg, trustroot.MAX_ROOT)
    except TrustError:
        return False
    for kid, _ in sigs:
        if kid.hex() in root_ids:
            return True
    return False


def _trust(cmds):
    """(root key ids, command role, command keys) of the installed root, read once (its
    self-signature costs two RSA checks) and again after a rotation: plain data, so nothing of
    these modules stays referenced."""
    if cmds.trust is None:
        try:
            root = trustroot.load(cmds.root_file)
        except TrustError as e:
            raise Refused("trust root unusable: %s" % e)
        if root is None:
            raise Refused("no trust root provisioned: every command is refused")
        role = root.role("command")
        keys = {}
        for kid in role["keys"]:
            keys[kid] = root.keys[kid]
        cmds.trust = (root.role("root")["keys"], role, keys)
    return cmds.trust


def accept(cmds, msg):
    """(seq, op, args) of a command to run, its number saved; Refused otherwise."""
    _, role, keys = _trust(cmds)
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
    if device != cmds.id:
        raise Refused("for device %s" % device, seq, op)
    if op not in role.get("ops", ()):
        raise Refused("%s is outside the command key's scope" % op, seq, op)
    if seq <= cmds.last_seq:
        raise Refused("replayed: seq %d, last run %d" % (seq, cmds.last_seq), seq, op)
    now = cmds.clock.now()
    if now is None:
        raise Refused("clock not set: expiry cannot be checked", seq, op)
    if expires - EPOCH <= now[0]:  # one long-int subtraction per command
        raise Refused("expired", seq, op)
    store.write_atomic(SEQ_FILE, str(seq))  # before it runs: never twice
    cmds.last_seq = seq
    return seq, op, args
