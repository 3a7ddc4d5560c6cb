"""Signed app updates end to end: city IT publishes a release (release key) from the build, the
update service answers the node's requests through mosquitto with the platform's identity, a
signed `update` command starts the install, and the simulated node stages the release in its
free slot, switches, and boots it on trial. A healthy release is confirmed (broker reached,
fresh timestamp, self-test) exactly once; one that crashes at import, or never reaches the
broker, is taken back by the first-stage loader; the node keeps its data throughout."""

from __future__ import annotations

import json
import time
from pathlib import Path

from stadsnod.cityit.update_service import UpdateService
from stadsnod.core.paths import unix_target
from stadsnod.core.senml import by_name
from stadsnod.testbed.ota import lib_with_app

from host_tests.test_commands_node import _results, _send, _wait_result
from host_tests.test_e2e_node import fixed_world
from provisioning.release import publish


def _lib_with_app(tmp_path: Path, name: str, source: str | None) -> Path:
    return lib_with_app(tmp_path, name, source)


def _release(updates: UpdateService, lib: Path, version: int, security: int = 0) -> None:
    publish(updates.store, lib, updates.releases, unix_target(), version, security, ["host"])


def _health(platform, device: str) -> dict:
    msgs = platform.of("health", device)
    return by_name(msgs[-1].payload) if msgs else {}


def _wait_health(platform, device: str, pred, timeout: float = 40) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        h = _health(platform, device)
        if h and pred(h):
            return h
        time.sleep(0.1)
    raise AssertionError(f"health never matched: {_health(platform, device)}")


def _ready(platform, device: str) -> None:
    _wait_health(platform, device, lambda h: h["clock_synced"])


def test_a_healthy_release_is_installed_and_confirmed_once(make_node, platform, demo_pki,
                                                             updates, tmp_path):
    device = "upd-0001"
    _release(updates, _lib_with_app(tmp_path, "v1", None), 1, security=1)
    node = make_node(device, world=fixed_world("53540000ab01"),
                     updates={"trial_s": 20, "attempts": 2}).start()
    _ready(platform, device)
    trust = demo_pki.trust()
    _send(platform, device, trust.command(device, 1, "update", {"release": 1}))
    done = _wait_result(platform, device, 1, "done", timeout=60)
    assert done["detail"] == "v1 staged in slot a; restarting into a trial"
    confirmed = _wait_result(platform, device, 1, "confirmed", timeout=60)
    assert confirmed["detail"] == "v1"
    h = _wait_health(platform, device, lambda h: h["release"] == 1
                     and h["release_state"] == "confirmed")
    assert h["release_fresh"] is True
    state = json.loads((node.dir / "app.json").read_text())
    assert state["active"] == "a" and state["security"] == 1 and not state["trial"]
    staged = sorted(p.name for p in (node.dir / "apps" / "a").iterdir())
    assert staged == sorted([p.name for p in (updates.releases / unix_target() / "1" / "files")
                             .iterdir()] + ["index.txt", "release.sns"])
    # the same release again is a no-op; nothing restarts
    _send(platform, device, trust.command(device, 2, "update", {"release": 1}))
    assert _wait_result(platform, device, 2, "done")["detail"] == "already running v1"
    time.sleep(2)
    assert node.resets == [2]
    assert [r["result"] for r in _results(platform, device) if r["op"] == "update"
            and r["seq"] == 1].count("confirmed") == 1
    # every reading made it, the reboot included
    seqs = set(platform.readings(device))
    assert seqs == set(range(1, max(seqs) + 1))


def _install_broken(make_node, platform, demo_pki, updates, tmp_path, device: str,
                    version: int, app_source: str, security: int = 0):
    """A node told to install release `version` whose app.py is `app_source`: it is staged
    (done), fails its trial and is taken back to v0 (reverted). Returns the node."""
    _release(updates, _lib_with_app(tmp_path, f"v{version}", app_source), version, security)
    node = make_node(device, world=fixed_world("53540000ab0" + device[-1]),
                     updates={"trial_s": 20, "attempts": 2}).start()
    _ready(platform, device)
    _send(platform, device, demo_pki.trust().command(device, 1, "update", {"release": version}))
    assert _wait_result(platform, device, 1, "done", timeout=60)
    reverted = _wait_result(platform, device, 1, "reverted", timeout=60)
    assert reverted["detail"] == f"v{version} did not confirm; running v0"
    return node


def test_a_release_that_crashes_at_import_is_taken_back(make_node, platform, demo_pki,
                                                          updates, tmp_path):
    device = "upd-0002"
    node = _install_broken(make_node, platform, demo_pki, updates, tmp_path, device, 5,
                           "raise ImportError('broken release')\n", security=2)
    h = _wait_health(platform, device, lambda h: h["release_state"] == "confirmed")
    assert h["release"] == 0
    state = json.loads((node.dir / "app.json").read_text())
    # the counter did not rise: the trial never confirmed
    assert state["active"] is None and state["security"] == 0
    assert node.resets[:3] == [2, 2, 2]  # the switch, then one reset per failed boot
    assert "broken release" in node.console()


def test_a_release_that_never_reaches_the_broker_is_taken_back(make_node, platform, demo_pki,
                                                                 updates, tmp_path, broker):
    from stadsnod.testbed.faultproxy import FaultProxy

    device = "upd-0003"
    _release(updates, _lib_with_app(tmp_path, "v1", None), 1)
    with FaultProxy(broker.port) as proxy:
        node = make_node(device, world=fixed_world("53540000ab03"), port=proxy.port,
                         updates={"trial_s": 6, "attempts": 2}).start()
        _ready(platform, device)
        _send(platform, device, demo_pki.trust().command(device, 1, "update", {"release": 1}))
        _wait_result(platform, device, 1, "done", timeout=60)
        proxy.set("refuse")  # the new release boots into a network without its broker
        deadline = time.time() + 60
        while len(node.resets) < 3 and time.time() < deadline:
            time.sleep(0.2)
        proxy.set("pass")
        reverted = _wait_result(platform, device, 1, "reverted", timeout=60)
        assert reverted["detail"] == "v1 did not confirm; running v0"
        assert "not confirmed within 6 s" in node.console()


def test_a_release_that_hangs_at_import_is_reset_by_the_watchdog_and_taken_back(
        make_node, platform, demo_pki, updates, tmp_path):
    """The loader starts the watchdog before it imports a trial release: a release that
    never returns from its import is reset (cause 3, the watchdog), twice, then reverted."""
    device = "upd-0004"
    node = _install_broken(make_node, platform, demo_pki, updates, tmp_path, device, 7,
                           "while True:\n    pass\n")
    assert node.resets[:3] == [2, 3, 3]  # the switch, then the watchdog at each hung boot


def test_a_frozen_update_service_shows_in_health_and_the_node_keeps_running(
        make_node, platform, updates, tmp_path):
    """Freeze protection seen from a running node: with updates.check_s set it asks for the
    service's timestamp; fresh, health says release_fresh true; once the service hands out
    only an expired one (stalled, or captured and replaying), false -- and the node keeps
    measuring and publishing."""
    device = "upd-0005"
    _release(updates, _lib_with_app(tmp_path, "v1", None), 1)
    node = make_node(device, world=fixed_world("53540000ab05"), updates={"check_s": 2})
    node.start()
    _wait_health(platform, device, lambda h: h["release_fresh"] is True)
    updates.ttl_s = -60  # from now on its statements are expired when they are made
    updates._stamps.clear()
    _wait_health(platform, device, lambda h: h["release_fresh"] is False)
    before = max(platform.readings(device))
    time.sleep(3)
    assert max(platform.readings(device)) > before and node.alive()
    assert "no fresh timestamp: timestamp expired" in node.console()
