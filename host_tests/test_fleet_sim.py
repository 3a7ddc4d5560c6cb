"""`stadsnod fleet sim`, short: a dozen nodes of the real firmware for two simulated hours with
every scheduled fault (a broker restart, nodes offline, a power cut, sensors NACKing); the
platform counts every sequence number of every node."""

from __future__ import annotations

import pytest
from stadsnod.testbed.fleet_sim import FleetPlan, run_fleet


def test_a_small_fleet_through_its_faults_loses_nothing(tmp_path) -> None:
    plan = FleetPlan(nodes=12, hours=2, interval_min=15, speed=360)
    r = run_fleet(plan, tmp_path / "fleet")
    kinds = {e.split("  ", 1)[1].split(" (")[0] for e in r.events}
    assert {"broker restart", "network down", "network up", "power cut", "power on",
            "sensor fault", "sensor back"} <= kinds, r.events
    # 12 nodes, a reading every 15 simulated minutes for 2 hours: 8 each at most (a node's
    # boot takes a simulated interval or so on a loaded machine, a power cut another)
    assert r.readings >= 12 * 5, r
    assert r.lost == 0 and r.differing == 0, (r.lost_by_node, r)
    assert 0 < r.reconnects_per_s_peak <= 12, r  # the restart's reconnects, spread out


def test_two_shards_on_one_machine_share_one_broker(tmp_path) -> None:
    """`--shard 1/2` runs the broker; `--shard 2/2 --join` uses it, as a second machine
    would: together they are the whole fleet, each shard counting its own nodes, none lost."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    cli = [str(Path(sys.executable).parent / "stadsnod"), "fleet", "sim", "--nodes", "8",
           "--hours", "2", "--speed", "360"]
    first = subprocess.Popen([*cli, "--shard", "1/2", "--dir", str(tmp_path / "a")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (tmp_path / "a" / "fleet.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    # a folder relative to where it runs, as `make fleet` gives (run/fleet): its nodes died at
    # boot once, looking for their fake hardware's description by that relative path
    second = subprocess.run([*cli, "--shard", "2/2", "--join", str(tmp_path / "a"), "--dir",
                             "b"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    out_first, err_first = first.communicate(timeout=300)
    assert first.returncode == 0 and second.returncode == 0, (err_first[-2000:],
                                                              second.stderr[-2000:])

    def figures(text: str) -> dict[str, str]:
        return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)

    a, b = figures(out_first), figures(second.stdout)
    assert a["fleet_nodes"] == b["fleet_nodes"] == "4 count", (a, b)
    assert a["fleet_readings_lost"] == b["fleet_readings_lost"] == "0 count", (a, b)
    readings = int(a["fleet_readings"].split()[0]) + int(b["fleet_readings"].split()[0])
    assert readings >= 8 * 5, (a, b)  # of at most 8 a node in 2 simulated hours
    # the second shard's nodes went through the first shard's broker restart
    assert "h  broker restart" in err_first and "h  broker restart" not in second.stderr


def test_a_reading_sent_again_in_another_pack_counts_as_the_same_reading(tmp_path) -> None:
    """A 1,000-node run reported 3 'differing' duplicates that were one reading each: sent
    again after a reconnect in a pack with another base time, bt + t came out 1 ulp apart in
    doubles (1796552549.104 + 140.891 is 1796552689.9950001). Nodes stamp in ms; so does the
    platform's comparison."""
    import json
    from types import SimpleNamespace

    from stadsnod.testbed.demo_city import DemoCity
    from stadsnod.testbed.platform import Platform

    assert 1796552549.104 + 140.891 != 1796552689.995  # the doubles really differ
    city = DemoCity.create(tmp_path / "pki")
    platform = Platform(SimpleNamespace(pki=city, port=1))  # type: ignore[arg-type]
    bn = "urn:dev:mac:fleet-00656:"
    for bt, t in ((1796552689.0, 0.995), (1796552549.104, 140.891)):
        pack = [{"bn": bn, "bt": bt, "n": "seq", "v": 22, "t": t},
                {"n": "bme280_0x76/temperature", "u": "Cel", "v": 6.5, "t": t}]
        platform._on_message(None, None, SimpleNamespace(
            topic="stadsnod/fleet-00656/data", payload=json.dumps(pack).encode(), retain=False))
    tally = platform.tally("fleet-00656")
    assert (tally.readings, tally.duplicates, tally.differing) == (1, 1, 0), tally
    assert platform.readings("fleet-00656")[22][0][0] == 1796552689.995


@pytest.mark.timeout(300)
@pytest.mark.xdist_group("rabbitmq-cluster")  # one 3-node cluster at a time on two cores
def test_two_shards_join_a_cluster_none_of_them_started(tmp_path) -> None:
    """City IT's cluster, not the fleet's: identities issued first (`--issue-only`, so that
    RabbitMQ's configuration knows the users), a 3-node RabbitMQ cluster started from the city
    PKI, then two shards with `--broker` listing its three endpoints and `--pki`. One cluster
    node is SIGKILLed mid-run: its nodes and consumers move to the others; none lost."""
    import json
    import subprocess
    import sys
    import time
    from pathlib import Path

    from stadsnod.testbed.demo_city import DemoCity
    from stadsnod.testbed.rabbitmq import RabbitCluster, rabbitmq_installed

    if not rabbitmq_installed():
        pytest.skip("rabbitmq-server is not installed (make rabbitmq)")
    stadsnod = str(Path(sys.executable).parent / "stadsnod")
    city = DemoCity.create(tmp_path / "pki")
    issued = subprocess.run([stadsnod, "fleet", "sim", "--nodes", "6", "--pki",
                             str(city.dir), "--issue-only"], capture_output=True, text=True,
                            timeout=120)
    assert issued.returncode == 0 and "6 identities issued" in issued.stderr, issued.stderr
    with RabbitCluster(tmp_path / "cluster", city) as cluster:
        endpoints = ",".join(f"127.0.0.1:{p}" for p in cluster.ports)
        shards = []
        for i in (1, 2):
            err = (tmp_path / f"shard{i}.err").open("w")
            shards.append((subprocess.Popen(
                [stadsnod, "fleet", "sim", "--nodes", "6", "--hours", "4", "--speed", "360",
                 "--shard", f"{i}/2", "--broker", endpoints, "--pki", str(city.dir), "--dir",
                 str(tmp_path / f"s{i}")], stdout=subprocess.PIPE, stderr=err, text=True),
                tmp_path / f"shard{i}.err"))
        deadline = time.time() + 120
        while time.time() < deadline and not all(
                "nodes running" in log.read_text() for _p, log in shards):
            time.sleep(0.5)
        # about 0.6 simulated hours in; the 3 left give a node on the killed cluster node
        # time to move even if a power cut (it boots at its first endpoint again) comes between
        time.sleep(6)
        cluster.nodes[0].kill()
        outs = [(p.communicate(timeout=300)[0], p.returncode, log.read_text())
                for p, log in shards]
    for out, rc, err in outs:
        assert rc == 0, err[-3000:]
        figures = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
        assert figures["fleet_nodes"] == "3 count", figures
        assert figures["fleet_readings_lost"] == "0 count", (figures, err[-3000:])
        # and none still holding its readings: a node that never got back leaves no gap
        assert figures["fleet_nodes_silent_at_end"] == "0 count", (figures, err[-3000:])
        assert int(figures["fleet_readings"].split()[0]) >= 3 * 10, figures  # of 16 a node
        assert "h  broker restart" not in err  # not this run's broker to restart
    # the nodes whose first endpoint was the killed cluster node went on at another
    on_first = [d for d in tmp_path.glob("s*/nodes/*")
                if json.loads((d / "config.json").read_text())["broker"]["port"]
                == cluster.ports[0]]
    assert on_first, "no node started on the first cluster node"
    for d in on_first:
        console = (d / "console.log").read_text(errors="replace")
        assert any(f"connected to 127.0.0.1:{p}" in console for p in cluster.ports[1:]), \
            console[-1500:]
