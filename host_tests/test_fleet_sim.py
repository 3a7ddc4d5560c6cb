"""`stadsnod fleet sim`, short: a dozen nodes of the real firmware for two simulated hours with
every scheduled fault (a broker restart, nodes offline, a power cut, sensors NACKing); the
platform counts every sequence number of every node."""

from __future__ import annotations

from stadsnod.testbed.fleet_sim import FleetPlan, run_fleet


def test_a_small_fleet_through_its_faults_loses_nothing(tmp_path) -> None:
    plan = FleetPlan(nodes=12, hours=2, interval_min=15, speed=360)
    r = run_fleet(plan, tmp_path / "fleet")
    kinds = {e.split("  ", 1)[1].split(" (")[0] for e in r.events}
    assert {"broker restart", "network down", "network up", "power cut", "power on",
            "sensor fault", "sensor back"} <= kinds, r.events
    # 12 nodes, a reading every 15 simulated minutes for 2 hours: ~8 each
    assert r.readings >= 12 * 7, r
    assert r.lost == 0 and r.differing == 0, (r.lost_by_node, r)
    assert 0 < r.reconnects_per_s_peak <= 12, r  # the restart's reconnects, spread out
