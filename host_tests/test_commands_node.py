"""Signed commands end to end: city IT signs (provisioning/trust.py), the platform publishes on
the node's /cmd through mosquitto, and the simulated node (built firmware on the MicroPython
VM, trust root from its provisioning bundle) answers on cmd/result. A refused command changes
nothing; an accepted one runs once, however often the broker delivers it."""

from __future__ import annotations

import json
import time

from stadsnod.core.senml import by_name

from host_tests.test_e2e_node import fixed_world


def _results(platform, device: str) -> list[dict]:
    return [json.loads(m.payload) for m in platform.of("cmd/result", device)]


def _wait_result(platform, device: str, seq, state: str, timeout: float = 20) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for r in _results(platform, device):
            if r["seq"] == seq and r["result"] == state:
                return r
        time.sleep(0.05)
    raise AssertionError(f"no {state} for seq {seq}: {_results(platform, device)}")


def _send(platform, device: str, data: bytes, retain: bool = False) -> None:
    info = platform.client.publish(f"stadsnod/{device}/cmd", data, qos=1, retain=retain)
    info.wait_for_publish(5)


def test_signed_commands_run_once_and_refusals_change_nothing(make_node, platform, demo_pki):
    device = "cmd-0001"
    node = make_node(device, world=fixed_world()).start()
    platform.wait_for(lambda m: m.topic == f"stadsnod/{device}/status" and m.payload == b"online",
                      timeout=25)
    # the node needs its clock to check expiry: wait for a health pack that says so
    platform.wait_for(lambda m: m.topic.endswith(f"{device}/health")
                      and by_name(m.payload)["clock_synced"], timeout=25)
    trust = demo_pki.trust()

    # identify: the board's LED blinks, seen on the fake pin from outside the node
    _send(platform, device, trust.command(device, 1, "identify", {"blinks": 3}))
    assert _wait_result(platform, device, 1, "accepted")
    done = _wait_result(platform, device, 1, "done")
    assert done["detail"] == "blinked 3 times"
    assert (node.dir / "sim" / "pin25.on").read_text() == "3"

    # the same bytes again (a redelivery), and a retained copy: refused, nothing runs
    _send(platform, device, trust.command(device, 1, "identify", {"blinks": 3}))
    again = _wait_result(platform, device, 1, "refused")
    assert again["detail"] == "replayed: seq 1, last run 1"

    # refusals, each with its reason, none of which runs anything
    _send(platform, device, trust.command("cmd-0002", 2, "reboot"))
    assert _wait_result(platform, device, 2, "refused")["detail"] == "for device cmd-0002"
    _send(platform, device, trust.command(device, 3, "reboot", expires_s=-10))
    assert _wait_result(platform, device, 3, "refused")["detail"] == "expired"
    _send(platform, device, b'{"op": "reboot", "seq": 4}')
    assert _wait_result(platform, device, None, "refused")["detail"] == "not a signed envelope"

    # selftest: the running node's own checks
    _send(platform, device, trust.command(device, 5, "selftest"))
    report = _wait_result(platform, device, 5, "done")["detail"]
    names = [c[0] for c in report["checks"]]
    assert names[0] == "bme280_0x76" and "clock" in names and report["passed"] is True

    # an operation that cannot run here fails with its reason; its number is spent
    _send(platform, device, trust.command(device, 6, "calibrate", {"sensor": "scd4x_0x62",
                                                                    "co2_ppm": 420}))
    assert _wait_result(platform, device, 6, "failed")["detail"] == \
        "no sensor 'scd4x_0x62' on this node (bme280_0x76)"

    # health counts the refusals (replay, other device, expired, unsigned) and what was done
    def counted(m) -> bool:
        if not m.topic.endswith(f"{device}/health"):
            return False
        h = by_name(m.payload)
        return h["cmd_rejected"] == 4 and h["cmd_done"] == 2

    platform.wait_for(counted, timeout=10)
    assert node.resets == []  # nothing refused rebooted it

    # reboot, sent retained: it runs once; the copy the broker hands the rebooted node is
    # refused as a replay, so the node does not reboot for ever
    _send(platform, device, trust.command(device, 7, "reboot"), retain=True)
    try:
        _wait_result(platform, device, 7, "done")
        deadline = time.time() + 25
        while not node.resets and time.time() < deadline:
            time.sleep(0.1)
        assert node.resets == [2]  # machine.reset(): a hard reset
        again = _wait_result(platform, device, 7, "refused", timeout=30)
        assert again["detail"] == "replayed: seq 7, last run 7"
        time.sleep(2)
        assert node.resets == [2]
    finally:
        platform.client.publish(f"stadsnod/{device}/cmd", b"", qos=1, retain=True)  # clear it


def test_a_signed_config_is_validated_kept_and_applied(make_node, platform, demo_pki):
    device = "cmd-0003"
    node = make_node(device, world=fixed_world("53540000aa03")).start()
    platform.wait_for(lambda m: m.topic.endswith(f"{device}/health")
                      and by_name(m.payload)["clock_synced"], timeout=25)
    trust = demo_pki.trust()
    old = json.loads((node.dir / "config.json").read_text())

    # a config the node's schema refuses: failed with the field named, nothing written
    bad = dict(old, config_version=1, interval_s=-5)
    _send(platform, device, trust.command(device, 1, "config", {"config": bad}))
    failed = _wait_result(platform, device, 1, "failed")
    assert "interval_s" in failed["detail"], failed
    assert json.loads((node.dir / "config.json").read_text()) == old
    # a valid one that is not newer than the running one (version 0)
    _send(platform, device, trust.command(device, 2, "config", {"config": dict(old)}))
    assert "not newer" in _wait_result(platform, device, 2, "failed")["detail"]

    new = dict(old, config_version=1, health_s=2)
    _send(platform, device, trust.command(device, 3, "config", {"config": new}))
    assert _wait_result(platform, device, 3, "done")["detail"] == "config v1 saved; restarting"
    deadline = time.time() + 25
    while not node.resets and time.time() < deadline:
        time.sleep(0.1)
    assert node.resets == [2]
    assert json.loads((node.dir / "config.json").read_text()) == new
    assert json.loads((node.dir / "config.prev.json").read_text()) == old
    # the restarted node runs the new config, and says so in its health
    h = platform.wait_for(lambda m: m.topic.endswith(f"{device}/health")
                          and by_name(m.payload)["boot"] == 2, timeout=25)
    assert by_name(h[0].payload)["config_version"] == 1


def _co2(platform, device: str) -> list[float]:
    """Every co2 value the node published, in order."""
    out = []
    for m in platform.of("data", device):
        for name, value in by_name(m.payload).items():
            if name == "co2":
                out.append(value)
    return out


def test_calibrate_recalibrates_an_scd4x_and_a_microphone(make_node, platform, demo_pki):
    """An SCD41 reading 650 ppm in air a reference instrument calls 420 ppm: forced
    recalibration (0x362f, the part answers the correction + 0x8000) brings it to 420, and
    sampling goes on. A microphone 1.3 dB hotter than its datasheet sensitivity reads a 94 dB,
    1 kHz calibrator (A-weighting 0 dB there, IEC 61672-1) as 95.3 dB; offset_db -1.3 makes
    it read 94.0 after the restart the node makes to use it."""
    from stadsnod.testbed.worlds import kit_sensors, sim_world

    trust = demo_pki.trust()
    fixed = {"seed": 3, "fixed": {"temperature": 18.0, "humidity": 50.0, "pressure": 101300.0,
                                  "co2": 650.0}}
    dev = "cal-0001"
    make_node(dev, world=sim_world(0, env=fixed, kit="co2", time_scale=0.05),
              sensors=kit_sensors("co2", 0.25, time_scale=0.05)).start()
    platform.wait_for(lambda m: m.topic.endswith(f"{dev}/health")
                      and by_name(m.payload)["clock_synced"], timeout=25)
    deadline = time.time() + 30
    while not _co2(platform, dev) and time.time() < deadline:
        time.sleep(0.2)
    assert _co2(platform, dev)[-1] == 650
    # out of scope for a CO2 reference: refused by the node, nothing changes
    _send(platform, dev, trust.command(dev, 1, "calibrate", {"sensor": "bme280_0x76",
                                                             "co2_ppm": 420}))
    assert "cannot be recalibrated" in _wait_result(platform, dev, 1, "failed")["detail"]
    _send(platform, dev, trust.command(dev, 2, "calibrate", {"sensor": "scd4x_0x62",
                                                             "co2_ppm": 420}))
    done = _wait_result(platform, dev, 2, "done")
    assert done["detail"] == "scd4x_0x62 recalibrated to 420 ppm (correction -230 ppm)"
    seen = len(_co2(platform, dev))
    deadline = time.time() + 30
    while len(_co2(platform, dev)) < seen + 3 and time.time() < deadline:
        time.sleep(0.2)
    assert _co2(platform, dev)[-1] == 420

    mic = "cal-0002"
    node = make_node(mic, world=sim_world(1, kit="noise", scene={
        "scene": "tone", "freq": 1000.0, "level_db": 94.0, "sensitivity_dbfs": -24.7}),
        sensors=kit_sensors("noise", 1), interval_s=2, health_s=2).start()
    platform.wait_for(lambda m: m.topic.endswith(f"{mic}/health")
                      and by_name(m.payload)["clock_synced"], timeout=25)

    def laeq() -> float:
        """LAeq of an interval that began after the call (the second data pack from now)."""
        seen = len(platform.of("data", mic))
        deadline = time.time() + 30
        while len(platform.of("data", mic)) < seen + 2 and time.time() < deadline:
            time.sleep(0.1)
        return by_name(platform.of("data", mic)[-1].payload)["LAeq"]

    assert abs(laeq() - 95.3) < 0.15
    _send(platform, mic, trust.command(mic, 1, "calibrate", {"sensor": "ics43434",
                                                             "offset_db": -1.3}))
    assert _wait_result(platform, mic, 1, "done")["detail"] == \
        "ics43434 offset_db -1.30 saved; restarting"
    deadline = time.time() + 30
    while 2 not in node.resets and time.time() < deadline:
        time.sleep(0.1)
    platform.wait_for(lambda m: m.topic.endswith(f"{mic}/health")
                      and by_name(m.payload)["boot"] == 2, timeout=30)
    assert abs(laeq() - 94.0) < 0.15
