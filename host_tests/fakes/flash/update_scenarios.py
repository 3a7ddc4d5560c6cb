# App updates on littlefs over the fake flash (runs under MicroPython): the node's own updater
# (firmware/updates/) installs a signed release that a fake update service hands it piece by
# piece, while the power goes at a chosen program operation. After each "reboot" the node must
# point at a complete, verified release (the old one, or the new one on trial), its security
# counter must not have dropped, and finishing the install must fetch no more than the release
# plus one piece per interruption. Release files, keys and timestamps are made on the host
# (host_tests/test_update_powercut.py) and read from SRC.
import asyncio
import json
import os
from hashlib import sha256

import fakeflash
import slots
import updater

CHUNK = 1024


class _Log:
    def info(self, *a):
        pass

    warning = error = info


class _Clock:
    def __init__(self, now):
        self._now = now

    def now(self):
        return self._now


class _Service:
    """The update service's side of the wire, answering synchronously."""

    def __init__(self, src, version, chunk=CHUNK):
        self.src = src
        self.version = version
        self.chunk = chunk  # what it sends for a piece: a hostile service sends more
        self.updater = None
        self.sent = 0  # bytes of answers put on the wire
        self.requests = 0
        self.cut = {}  # request number -> "drop" (the link dies) or "reboot" (the node resets)

    def _read(self, path, c):
        with open(path, "rb") as f:
            f.seek(c * self.chunk)
            return f.read(self.chunk)

    async def publish(self, topic, msg, retain=False, qos=0):
        req = json.loads(msg)
        name, c = req["f"], req["c"]
        if name == "timestamp":
            data = open(self.src + "/timestamp.sns", "rb").read()
        elif name == "manifest":
            data = self._read(self.src + "/manifest.sns", c)
        elif name == "index":
            data = self._read(self.src + "/index.txt", c)
        elif name.startswith("firmware."):
            data = self._read(self.src + "/firmware/" + name, c)
        else:
            data = self._read(self.src + "/files/" + name, c)
        head = b"SNU1" + self.version.to_bytes(4, "big") + bytes([len(name)]) + name.encode() \
            + c.to_bytes(4, "big")
        self.requests += 1
        self.sent += len(data)
        what = self.cut.get(self.requests)
        if what == "drop":  # the answer was on its way when the link went
            raise OSError(104)  # ECONNRESET
        if what == "reboot":
            raise _Reset()
        self.updater.on_data(head + data)

    def check_msg(self):
        return 0


class _Reset(Exception):
    """The node resets (a watchdog, a brown-out): what is on flash stays, RAM is gone."""


class _Link:
    connected = True
    update_topic = "stadsnod/node-1/update/get"

    def __init__(self, service):
        self.mqtt = service


class _Commands:
    def __init__(self, root_file):
        self.root_file = root_file


class _Node:
    def __init__(self, src, version, now, root=None, chunk=CHUNK):
        self.cfg = {"board": "host", "updates": {"attempts": 3}}
        self.clock = _Clock(now)
        self.log = _Log()
        self.commands = _Commands(root or src + "/root.sns")
        self.service = _Service(src, version, chunk)
        self.heap_peak = self.heap_free_min = 0  # what health.heap_busy keeps
        self.link = _Link(self.service)


def _hash(path):
    with open(path, "rb") as f:
        return sha256(f.read()).digest().hex()


def _fresh(old_files):
    flash = fakeflash.Flash(blocks=512)
    flash.format()
    flash.mount()
    os.chdir("/flash")
    os.mkdir("apps")
    os.mkdir("apps/a")
    for name, data in old_files.items():
        with open("apps/a/" + name, "wb") as f:
            f.write(data)
    slots.save({"active": "a", "version": 1, "security": 1})
    return flash


def _reboot(flash):
    os.chdir("/")
    flash.unmount()
    flash.mount()
    os.chdir("/flash")


def _install(node, version):
    up = updater.Updater(node)
    node.service.updater = up
    try:
        asyncio.run(up.install(version))
    except updater.UpdateError as e:
        if "still on trial" not in str(e):
            raise
    return up.fetched


def _check(old_files, new_files):
    """The release app.json points at is whole and verified; what it was otherwise."""
    s = slots.state()
    if s.get("active") == "a":
        assert s["version"] == 1 and not s.get("trial"), s
        for name, data in old_files.items():
            assert _hash("apps/a/" + name) == sha256(data).digest().hex(), name
        return "old"
    assert s.get("active") == "b" and s["version"] == 2 and s["trial"], s
    assert s["security"] == 1 and s["trial_security"] == 2, s  # rises only on confirm
    for name, digest in new_files.items():
        assert _hash("apps/b/" + name) == digest, name
    return "new"


def every_cut(node, fresh, life, reboot, settle, finish):
    """A power cut at each program operation of `life` in turn (the fake flash's counter),
    each on a fresh flash: fresh() mounts one in its starting state; life() runs the scenario
    and returns the bytes fetched (OSError when the power goes); reboot(flash) mounts it
    again; settle() says what the reboot found ("old" or "new"); finish() completes the
    scenario and returns what that fetched. Both raise when the node is bricked. A
    JSON-able summary."""
    flash = fresh()
    start = flash.writes
    clean = life()
    total = flash.writes - start
    assert settle() == "new"
    finish()  # the uninterrupted scenario ends where a finished one must
    os.chdir("/")
    flash.unmount()
    outcomes = {"old": 0, "new": 0, "bricked": 0}
    worst = 0
    for cut in range(total + 1):
        flash = fresh()
        flash.cut_after = flash.writes + cut
        fetched = 0
        try:
            fetched = life()
        except OSError:  # the power went: whatever it had fetched is what it cost
            fetched = node.service.updater.fetched
        reboot(flash)
        try:
            outcomes[settle()] += 1
            fetched += finish()  # the next boots finish it
        except (AssertionError, OSError, updater.UpdateError) as e:
            outcomes["bricked"] += 1  # points at something incomplete, or cannot finish
            print("bricked at cut %d: %r" % (cut, e))
        worst = max(worst, fetched - clean)
        os.chdir("/")
        flash.unmount()
    return {"cut_points": total + 1, "outcomes": outcomes, "clean_bytes": clean,
            "worst_extra_bytes": worst}


def run(src, now_s):
    """Every cut point of one install; returns a JSON-able summary."""
    meta = json.load(open(src + "/meta.json"))
    old_files = {k: bytes.fromhex(v) for k, v in meta["old"].items()}
    node = _Node(src, 2, (now_s, 0))

    def finish():
        fetched = _install(node, 2)
        assert _check(old_files, meta["new"]) == "new"
        return fetched

    return every_cut(node, lambda: _fresh(old_files), lambda: _install(node, 2), _reboot,
                     lambda: _check(old_files, meta["new"]), finish)


_KEPT = ("active", "version", "security", "trial", "previous")


def attacks(cases, now_s):
    """Each hostile release in cases/<name>/ (tools/stadsnod/testbed/ota.py): what the node
    answered, and whether what it runs and falls back to stayed as it was."""
    out = {}
    for name in sorted(os.listdir(cases)):
        d = cases + "/" + name
        case = json.load(open(d + "/case.json"))
        node = _Node(d, case["version"], (now_s, 0), cases + "/../root.sns",
                     case.get("chunk_bytes", CHUNK))
        flash = fakeflash.Flash(blocks=512)
        flash.format()
        flash.mount()
        os.chdir("/flash")
        os.mkdir("apps")
        slots.save(case["state"])
        up = updater.Updater(node)
        node.service.updater = up
        try:
            said = asyncio.run(up.install(case["version"]))
        except updater.UpdateError as e:
            said = "refused: %s" % e
        after = slots.state()
        same = all(after.get(k) == case["state"].get(k) for k in _KEPT)
        out[name] = [said, same, case["expect"], up.fetched]
        os.chdir("/")
        flash.unmount()
    return out


def resume(src, schedules, now_s):
    """Installs interrupted at the given requests (schedules: [{request: "drop" | "reboot"}]),
    each resumed until done. Per schedule: [interruptions, bytes the service sent, the clean
    install's bytes, whether the new release ended up staged whole]."""
    schedules = json.loads(schedules)
    meta = json.load(open(src + "/meta.json"))
    old_files = {k: bytes.fromhex(v) for k, v in meta["old"].items()}
    node = _Node(src, 2, (now_s, 0))
    flash = _fresh(old_files)
    _install(node, 2)
    clean = node.service.sent
    os.chdir("/")
    flash.unmount()
    out = []
    for schedule in schedules:
        node = _Node(src, 2, (now_s, 0))
        node.service.cut = {int(k): v for k, v in schedule.items()}
        flash = _fresh(old_files)
        hits = 0
        for _ in range(len(schedule) + 1):
            try:
                _install(node, 2)
                break
            except updater.UpdateError:  # the drop: the next attempt resumes
                hits += 1
            except _Reset:
                hits += 1
                _reboot(flash)
        ok = _check(old_files, meta["new"]) == "new"
        out.append([hits, node.service.sent, clean, ok])
        os.chdir("/")
        flash.unmount()
    return out
