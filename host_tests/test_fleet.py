"""A rollout in rings against simulated nodes (built firmware on the MicroPython VM) through
mosquitto: a good release reaches every node and is confirmed; a broken one (it crashes at
import) reverts on the canary and the rollout halts by itself, the other nodes never asked.
The registry records each node's release and every step is in the audit log."""

from __future__ import annotations

import time

from stadsnod.cityit.fleet import rings_of, rollout

from host_tests.test_e2e_node import fixed_world
from host_tests.test_updates_node import _lib_with_app, _release, _wait_health


def test_rings_are_a_canary_then_cumulative_percentages() -> None:
    ids = [f"n{i}" for i in range(10)]
    assert rings_of(ids, 1, [50, 100]) == [["n0"], ids[1:5], ids[5:]]
    assert rings_of(ids, 2, [10, 30]) == [ids[:2], ids[2:3], ids[3:]]
    assert rings_of(ids[:1], 1, [50, 100]) == [["n0"]]


def test_a_good_release_everywhere_then_a_broken_one_halts_on_the_canary(
        make_node, platform, demo_pki, updates, tmp_path, broker):
    devices = ["fleet-0001", "fleet-0002", "fleet-0003"]
    for i, d in enumerate(devices):
        make_node(d, world=fixed_world(f"53540000fe0{i}"),
                  updates={"trial_s": 30, "attempts": 2}).start()
    for d in devices:
        _wait_health(platform, d, lambda h: h["clock_synced"])
    demo_pki.settings["broker_port"] = broker.port  # the test broker, not the demo's 8883
    _release(updates, _lib_with_app(tmp_path, "v1", None), 1, security=1)
    good = rollout(demo_pki, devices, 1, canary=1, percents=[100], wait_s=90,
                   say=lambda _m: None)
    assert good.halted_at is None and good.rings == [devices[:1], devices[1:]]
    assert good.outcome == {d: "confirmed" for d in devices}
    for d in devices:
        _wait_health(platform, d, lambda h: h["release"] == 1
                     and h["release_state"] == "confirmed")

    _release(updates, _lib_with_app(tmp_path, "v2", "raise ImportError('broken v2')\n"), 2,
             security=1)
    t0 = time.time()
    bad = rollout(demo_pki, devices, 2, canary=1, percents=[100], wait_s=90,
                  say=lambda _m: None)
    assert bad.halted_at == 1 and bad.outcome == {devices[0]: "reverted"}, \
        demo_pki.registry.releases()
    # the canary is back on v1; the others were never asked and still run v1
    _wait_health(platform, devices[0], lambda h: h["release"] == 1 and h["boot"] == 3)
    for d in devices[1:]:
        assert not [m for m in platform.of("cmd", d) if m.at > t0]
    recorded = demo_pki.registry.releases()
    assert recorded[devices[0]]["state"] == "reverted" and recorded[devices[0]]["version"] == 2
    assert all(recorded[d]["state"] == "confirmed" and recorded[d]["version"] == 1
               for d in devices[1:])
    actions = [e["action"] for e in demo_pki.registry.audit()]
    assert actions.count("rollout-start") == 2 and "release-reverted" in actions
    assert demo_pki.registry.verify() == []
