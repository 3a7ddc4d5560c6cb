"""Signed commands: the node's acceptance rule (firmware/commands/commands.py, the built .mpy
on the MicroPython VM) against commands signed by city IT's tools (provisioning/trust.py).
Each refusal changes nothing -- the saved sequence number stays where it was -- and an accepted
command's number is on flash before it runs, so a reboot right after cannot run it again."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from stadsnod.core.mpyrun import run_code

from provisioning.trust import COMMAND_TYPE, TrustStore, wrap

SECRET = b"commands test passphrase, not a secret"
EPOCH = 1704067200  # firmware/link/clock.py: the node counts seconds from 2024-01-01


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> TrustStore:
    return TrustStore.init(tmp_path_factory.mktemp("trust") / "trust", SECRET, root_keys=1,
                           root_threshold=1, ops=("reboot", "identify", "selftest", "config"))


# Runs each message through one Commands (or a new one per message where the line says
# "reboot"), with a clock set to the host's time; prints [accepted?, detail, saved seq] per line.
_SCRIPT = """
import json, os
import store
from commands import Commands, last_seq
from command_check import Refused, accept
class Log:
    def warning(self, *a): pass
class Clock:
    def __init__(self, now): self._now = now
    def now(self): return self._now
os.mkdir('certs')
store.write_atomic('certs/trust.root', open('root.sns', 'rb').read())
clock = Clock((%d, 0))
plan = json.load(open('plan.json'))
c = Commands('node-1', clock, Log())
out = []
for name, fresh in plan:
    if fresh:
        c = Commands('node-1', clock, Log())
    if name == 'unset-clock':
        c.clock = Clock(None); name = 'good-2'
    try:
        out.append([True, accept(c, open(name, 'rb').read())[0], last_seq()])
    except Refused as e:
        out.append([False, str(e), last_seq()])
    c.clock = clock
print(json.dumps(out))
"""


def _command(store: TrustStore, seq: int, **over) -> bytes:
    body = {"type": COMMAND_TYPE, "device": "node-1", "seq": seq, "op": "reboot", "args": {},
            "expires": int(time.time()) + 600} | over
    data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return wrap(data, store.signers("command"))


def test_only_a_fresh_signed_in_scope_command_for_this_node_is_accepted(
        store: TrustStore, tmp_path: Path) -> None:
    good = store.command("node-1", 1, "reboot")
    files = {
        "good-1": good,
        "replay": good,  # the same bytes again (a QoS 1 redelivery, a retained copy)
        "unsigned": json.dumps({"type": COMMAND_TYPE, "device": "node-1", "seq": 9,
                                "op": "reboot", "expires": int(time.time()) + 600}).encode(),
        "release-key": wrap(_command(store, 9)[8:8 + int.from_bytes(_command(store, 9)[4:8],
                                                                   "big")],
                            store.signers("release")),
        "tampered": _command(store, 9).replace(b'"seq":9', b'"seq":8'),
        "other-device": _command(store, 9, device="node-2"),
        "expired": _command(store, 9, expires=int(time.time()) - 5),
        "out-of-scope": _command(store, 9, op="update"),
        "older": _command(store, 0),
        "unset-clock": b"",
        "oversize": wrap(b" " * 9000, store.signers("command")),
        "not-a-command": wrap(b'{"type":"stadsnod-root"}', store.signers("command")),
        "good-2": _command(store, 2, op="identify"),
        "after-reboot": _command(store, 2, op="identify"),  # run, then the node reboots
        "good-5": _command(store, 5),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "root.sns").write_bytes(store.root().data)
    plan = [[name, name == "after-reboot"] for name in files]
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    now_s = int(time.time()) - EPOCH
    r = run_code(_SCRIPT % now_s, cwd=tmp_path, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    got = dict(zip(files, json.loads(r.stdout.strip().splitlines()[-1]), strict=True))
    assert got["good-1"] == [True, 1, 1]
    assert got["replay"] == [False, "replayed: seq 1, last run 1", 1]
    assert got["unsigned"] == [False, "not a signed envelope", 1]
    assert got["release-key"] == [False, "command: 0 valid signature(s) of the 1 required", 1]
    assert got["tampered"] == [False, "command: 0 valid signature(s) of the 1 required", 1]
    assert got["other-device"] == [False, "for device node-2", 1]
    assert got["expired"] == [False, "expired", 1]
    assert got["out-of-scope"] == [False, "update is outside the command key's scope", 1]
    assert got["older"] == [False, "replayed: seq 0, last run 1", 1]
    assert got["unset-clock"] == [False, "clock not set: expiry cannot be checked", 1]
    assert got["oversize"] == [False, "body of 9000 bytes over the 8192-byte limit", 1]
    assert got["not-a-command"] == [False, "signed, but not a command document", 1]
    assert got["good-2"] == [True, 2, 2]
    # the number was saved before the command ran: a node rebooted after it refuses it
    assert got["after-reboot"] == [False, "replayed: seq 2, last run 2", 2]
    assert got["good-5"] == [True, 5, 5]  # numbers may skip (a command city IT withdrew)


def test_without_a_trust_root_every_command_is_refused(store: TrustStore,
                                                       tmp_path: Path) -> None:
    (tmp_path / "cmd").write_bytes(store.command("node-1", 1, "reboot"))
    script = """
import json
from commands import Commands
from command_check import Refused, accept
class Log:
    def warning(self, *a): pass
class Clock:
    def now(self): return (10**8, 0)
try:
    accept(Commands('node-1', Clock(), Log()), open('cmd', 'rb').read())
    print(json.dumps('accepted'))
except Refused as e:
    print(json.dumps(str(e)))
"""
    r = run_code(script, cwd=tmp_path, timeout=60)
    assert r.stdout.strip().splitlines()[-1] == \
        '"no trust root provisioned: every command is refused"', r.stdout + r.stderr
