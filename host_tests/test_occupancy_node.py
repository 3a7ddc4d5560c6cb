"""A simulated occupancy node on the real broker: a VL53L1X counting a school entrance's
morning peak, an LD2410 and a PIR watching the hall (presence fused). The counts that reach the
platform add up to the scene's ground truth, presence and occupancy are published per interval,
and nothing about a person leaves the node or stays on it: no distance, no time of a crossing
(privacy by design)."""

from __future__ import annotations

import re

import people
from stadsnod.core.senml import by_name, resolve
from stadsnod.testbed.worlds import kit_sensors, sim_world

from host_tests.test_nothing_lost import wait_until

ALLOWED = {"presence", "occupancy", "count_in", "count_out", "seq", "quality/presence",
           "quality/vl53l1x_0x29"}


def test_occupancy_node_counts_the_scene_and_keeps_people_private(make_node, platform):
    dev = "occ-0001"
    length, n = 24.0, 8
    crossings, truth = people.morning_peak(length_s=length, people=n)
    world = sim_world(0, kit="occupancy", time_scale=0.5,
                      scene={"scene": "school", "length_s": length, "people_n": n})
    # 320K, not the host board's 256K: the three fakes (a doorway with people, LD2410 frames,
    # a PIR) live in the node's heap and left it a few KB at boot (the heap budget in make
    # bench measures the node with the fakes' own heap taken off)
    node = make_node(dev, world=world, sensors=kit_sensors("occupancy", 1), interval_s=2,
                     health_s=2, heap="320K").start()

    def totals():
        got = platform.readings(dev)
        cin = sum(d[0][1].get("count_in", 0) for d in got.values())
        cout = sum(d[0][1].get("count_out", 0) for d in got.values())
        return cin, cout

    done_at = (crossings[-1].start + crossings[-1].duration) * 0.5 + 4  # scene at 2x speed
    wait_until(lambda: totals() == (truth["in"], truth["out"]), done_at + 30,
               f"counts {truth} (have {totals()})")
    readings = platform.readings(dev)
    assert any(d[0][1].get("presence") is True for d in readings.values())
    assert all(0 <= d[0][1]["occupancy"] <= 1 for d in readings.values()
               if "occupancy" in d[0][1])
    health = by_name(platform.of("health", dev)[-1].payload)
    for part in ("vl53l1x_0x29", "ld2410", "pir"):
        assert health[f"sensor/{part}/status"] in ("ok", "warming up"), health
    node.stop()
    # privacy: data packs carry only the wire contract's occupancy records
    for m in platform.of("data", dev):
        for r in resolve(m.payload, now=0):
            assert r["n"].rsplit(":", 1)[1] in ALLOWED, r["n"]
    # and no distance or per-crossing trace in anything it published, logged or stored
    trace = re.compile(rb'distance|crossing|_cm\b|"u":"mm"|"u":"m"')
    for m in platform.messages:
        if f"/{dev}/" in m.topic:
            assert not trace.search(m.payload), (m.topic, m.payload[:200])
    assert not trace.search(node.log_path.read_bytes())
    for p in node.dir.rglob("*"):
        if p.is_file() and p.name not in ("sim.json", "config.json") and p.parent.name != "certs":
            assert not trace.search(p.read_bytes()), p
