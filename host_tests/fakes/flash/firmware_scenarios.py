# Firmware updates on an ESP32 (runs under MicroPython): the node's own updater stages a signed
# release that brings an app and a firmware image, the fake chip (esp32.py: two OTA partitions
# and ESP-IDF's bootloader) boots it, the first-stage loader (main.py, run as it is) starts the
# trial, and the trial confirms -- while the power goes at a chosen program operation of the
# littlefs flash, the partitions or otadata (one power domain). After every boot the firmware
# running is a whole, valid image and the app slot app.json points at is the one made for it;
# counters never drop, and booting on converges to the new release confirmed. Release files are
# made on the host (host_tests/test_update_powercut.py) and read from SRC.
import asyncio
import json
import os
import sys
from hashlib import sha256

import esp32
import slots
import trial
import update_scenarios as us
import updater


class _App:
    """What `import app` gives the loader: a release that starts (or, with `crash`, one that
    raises as it starts: the board ends in a reset, by the trial's watchdog if nothing else)."""

    crash = False

    @staticmethod
    def main():
        if _App.crash and slots.state().get("trial"):
            raise ImportError("broken release")


def _boot(main_py):
    """Power on: the bootloader, then the loader (it may reset: then power on again).
    Returns the running partition's label."""
    for _ in range(4):
        running = esp32.power_on()
        path = sys.path[:]
        sys.modules["app"] = _App
        try:
            exec(open(main_py).read(), {"__name__": "main"})
            return running
        except SystemExit:  # machine.reset(): the loader finished a set_boot, or a crash
            pass
        except ImportError:
            pass  # the crash took the board down: the watchdog resets it
        finally:
            sys.path[:] = path
            sys.modules.pop("app", None)
    raise AssertionError("no boot settled")


def _fresh(meta, src):
    flash = us._fresh({k: bytes.fromhex(v) for k, v in meta["old"].items()})
    esp32.reset_chip(part_bytes=meta["partition"], factory=open(src + "/old.bin", "rb").read(),
                     power=flash)
    return flash


def _check(meta, running):
    """Whole, valid firmware running; the app slot made for it, whole; counters right."""
    assert esp32.image_ok(esp32._chip.parts[running]), "%s holds no valid image" % running
    s = slots.state()
    need = s.get("firmware") or "ota_0"
    assert need == running, "app v%s needs %s, %s runs" % (s.get("version"), need, running)
    if s.get("active") == "b" and not s.get("trial"):
        assert s["version"] == 2 and s["security"] == 2, s
        for name, digest in meta["new"].items():
            assert us._hash("apps/b/" + name) == digest, name
    else:
        us._check({k: bytes.fromhex(v) for k, v in meta["old"].items()}, meta["new"])
    return s


def _hash_prefix(part, n):
    return sha256(part[:n]).digest().hex()


def _life(node, main_py):
    """Install, boot, confirm, each as far as the power lets it. Returns the fetched bytes."""
    up = updater.Updater(node)
    node.service.updater = up
    try:
        asyncio.run(up.install(2))
    except updater.UpdateError as e:
        if "still on trial" not in str(e):
            raise
    _boot(main_py)
    s = slots.state()
    if s.get("trial"):
        trial.confirm(s)
    return up.fetched


def _converge(node, meta, main_py):
    """After a cut: boot, check, finish whatever is left; the new release must end up
    confirmed with its firmware."""
    running = _boot(main_py)
    _check(meta, running)
    s = slots.state()
    fetched = 0
    if s.get("trial"):
        trial.confirm(s)
    elif s.get("version") != 2:
        fetched = _life(node, main_py)
    running = _boot(main_py)
    s = _check(meta, running)
    assert s["version"] == 2 and not s.get("trial") and s["security"] == 2, s
    assert running == "ota_1" and esp32.state("ota_1") == esp32.VALID
    assert _hash_prefix(esp32._chip.parts["ota_1"], meta["image_length"]) == meta["image_sha256"]
    return fetched


def _reboot(flash):
    us._reboot(flash)
    esp32._chip.power = flash  # one power domain: littlefs, the partitions and otadata


def run(src, main_py, now_s):
    """Every cut point of install, switch, boot and confirm (us.every_cut)."""
    meta = json.load(open(src + "/meta.json"))
    node = us._Node(src, 2, (now_s, 0))
    node.cfg["board"] = "esp32"
    return us.every_cut(node, lambda: _fresh(meta, src), lambda: _life(node, main_py),
                        _reboot,
                        lambda: "new" if slots.state().get("version") == 2 else "old",
                        lambda: _converge(node, meta, main_py))


def crash(src, main_py, now_s):
    """A release whose app crashes at import on its new firmware: ESP-IDF's bootloader takes
    the firmware back at the next reset, and the loader takes the app back with it."""
    meta = json.load(open(src + "/meta.json"))
    node = us._Node(src, 2, (now_s, 0))
    node.cfg["board"] = "esp32"
    flash = _fresh(meta, src)
    up = updater.Updater(node)
    node.service.updater = up
    said = asyncio.run(up.install(2))
    _App.crash = True
    try:
        running = _boot(main_py)
    finally:
        _App.crash = False
    s = _check(meta, running)
    out = {"said": said, "running": running, "state": s,
           "ota_1": esp32.state("ota_1"), "aborted": esp32.ABORTED}
    os.chdir("/")
    flash.unmount()
    return out


def _day(node, main_py):
    """From power-on: boot, then carry on with what the state says (confirm a trial, or
    install the release); the power may go anywhere in it."""
    _boot(main_py)
    s = slots.state()
    if s.get("trial"):
        trial.confirm(s)
    elif s.get("version") != 2:
        _life(node, main_py)


def cuts(src, main_py, schedules, now_s):
    """Several power cuts in a row (schedules: lists of program-operation offsets, one per
    power-on), each followed by a boot that must find a whole firmware and its app; then the
    node must converge. Per schedule: null, or what went wrong."""
    schedules = json.loads(schedules)
    meta = json.load(open(src + "/meta.json"))
    node = us._Node(src, 2, (now_s, 0))
    node.cfg["board"] = "esp32"
    out = []
    for schedule in schedules:
        flash = _fresh(meta, src)
        node.service.updater = None
        wrong = None
        try:
            for cut in schedule:
                flash.cut_after = flash.writes + cut
                try:
                    _day(node, main_py)
                except OSError:
                    pass  # the power went
                _reboot(flash)
                _check(meta, _boot(main_py))
            _converge(node, meta, main_py)
        except (AssertionError, OSError, updater.UpdateError) as e:
            wrong = "%r" % (e,)
        out.append(wrong)
        os.chdir("/")
        flash.unmount()
    return out
