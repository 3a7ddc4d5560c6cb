# What the node does with a message on its command topic. A command is obeyed only when the
# city's command key signed it (checked before a byte of it is parsed), it names this device,
# it has not expired, its operation is in the command key's scope, and its sequence number is
# above the last one run. The number is on flash before the command runs, so a QoS 1 redelivery,
# a retained copy or a reboot halfway runs nothing twice. Everything else is refused with its
# reason on cmd/result, counted in health, and changes nothing. A new trust root arrives on the
# same topic, signed by the root keys (not the command key) and taken only as version N+1.
#
# This module stays loaded: what the node keeps between messages. The checking (command_check,
# the trust root, the envelope, RSA) and the running (ops) are imported when there is
# something to check or run, and dropped afterwards: they cost the heap nothing in between.
import json
import sys

from micropython import const

import store

SEQ_FILE = "cmd.seq"
ROOT_FILE = "certs/trust.root"  # as trustroot.ROOT_FILE (trustroot loads only to check)
MAX_PENDING = const(8)
# the modules a check brings in; none of them is needed between messages
CHECKING = ("command_check", "trustroot", "envelope", "pss")


def last_seq(path=SEQ_FILE):
    try:
        return int(store.read_text(path))
    except (OSError, ValueError):
        return 0


def drop(names):
    for name in names:
        sys.modules.pop(name, None)


class Commands:
    def __init__(self, device_id, clock, log, root_file=ROOT_FILE):
        self.id = device_id
        self.clock = clock
        self.log = log
        self.root_file = root_file
        self.rejected = 0
        self.done = 0
        self.last_seq = last_seq()
        self.todo = []  # accepted [seq, op, args], run by ops.serve
        self.running = None  # the seq of the command being run
        self.results = []  # result documents (bytes) waiting for the broker
        self.trust = None  # (root key ids, command role, command keys): plain data, cached

    def on_message(self, topic, msg, retained):
        import command_check

        try:
            command_check.handle(self, msg)
        except MemoryError:  # no room to check it now: refused, not obeyed, not fatal
            self.rejected += 1
            self.result(None, None, "refused", "out of memory; send it again")
        finally:
            drop(CHECKING)

    async def work(self, node):
        """Runs what was accepted and sends the results (ops.serve), imported for the purpose:
        the node's publisher calls it when there is something to do."""
        import ops

        try:
            await ops.serve(node)
        finally:
            drop(ops.MODULES)

    async def check_release(self, node):
        """Whether the update service's timestamp is fresh (ops.freshness), imported for it."""
        import ops

        try:
            await ops.freshness(node)
        finally:
            drop(ops.MODULES)

    def result(self, seq, op, state, detail=None):
        doc = {"seq": seq, "op": op, "result": state}
        if detail is not None:
            doc["detail"] = detail
        if len(self.results) >= MAX_PENDING:
            self.results.pop(0)  # the oldest word goes; the node's state is in health anyway
        self.results.append(json.dumps(doc))


def inbound(node, topic, msg, retained):
    """The link's messages: update pieces to the updater, everything else is a command."""
    if topic == node.link.data_in_topic:
        if node.updates is not None:  # an install or a trial is asking for pieces
            node.updates.on_data(msg)
    else:
        node.commands.on_message(topic, msg, retained)
