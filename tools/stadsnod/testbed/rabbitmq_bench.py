"""RabbitMQ runs the test bed relies on, for the tests and `make bench`: a node's readings
through RabbitMQ's MQTT plugin, and a 3-node cluster losing the node that a node and the
platform are connected to."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .demo_city import DemoCity
from .platform import Platform
from .rabbitmq import RabbitBroker, RabbitCluster
from .simnode import provision_sim_node
from .worlds import sim_world


def _wait(pred, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return False


def _complete(platform: Platform, device: str, at_least: int) -> bool:
    seen = platform.readings(device)
    return len(seen) >= at_least and sorted(seen) == list(range(1, max(seen) + 1))


def interop(workdir: Path, sntp_port: int, readings: int = 10) -> bool:
    """A node's readings arrive complete through RabbitMQ, with its health."""
    city = DemoCity.create(workdir / "city")
    from .broker import free_port

    port = free_port()
    node = provision_sim_node(workdir / "ri-0001", "ri-0001", city, port, sntp_port,
                              world=sim_world(0), interval_s=0.5, every_s=0.1, health_s=1)
    with RabbitBroker(workdir / "broker", city, port=port) as broker:
        platform = Platform(broker).start()
        node.start()
        try:
            return _wait(lambda: _complete(platform, "ri-0001", readings), 60) and \
                bool(platform.of("health", "ri-0001")) and node.alive()
        finally:
            node.stop()
            platform.stop()


@dataclass
class Failover:
    readings: int
    lost: int
    node_moved: bool
    platform_moved: bool


def cluster_failover(workdir: Path, sntp_port: int, after: int = 30) -> Failover:
    """A 3-node cluster; a node and the platform on its first node, the others listed as
    further endpoints; the first is SIGKILLed after 6 readings. Counts what never arrived of
    the readings up to `after` more."""
    city = DemoCity.create(workdir / "city")
    cluster = RabbitCluster(workdir / "cluster", city)
    first, *rest = cluster.ports
    node = provision_sim_node(workdir / "rc-0001", "rc-0001", city, first, sntp_port,
                              world=sim_world(3), interval_s=0.5, every_s=0.1, health_s=1,
                              broker={"host": "127.0.0.1", "port": first, "keepalive_s": 5,
                                      "server_hostname": "broker.stadsnod.local",
                                      "endpoints": [f"127.0.0.1:{p}" for p in rest]})
    with cluster:
        platform = Platform(cluster.nodes[0], failover=rest).start()
        node.start()
        try:
            _wait(lambda: len(platform.readings("rc-0001")) >= 6, 40)
            cluster.nodes[0].kill()
            _wait(lambda: _complete(platform, "rc-0001", after), 90)
            tally = platform.tally("rc-0001")
            console = node.console()
            return Failover(readings=tally.top, lost=tally.lost,
                            node_moved=any(f"connected to 127.0.0.1:{p}" in console
                                           for p in rest),
                            platform_moved=platform.at != 0)
        finally:
            node.stop()
            platform.stop()
