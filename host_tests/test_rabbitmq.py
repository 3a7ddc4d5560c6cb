"""The node, the platform and the city's broker configuration against RabbitMQ's MQTT plugin
(Debian's rabbitmq-server, configured by `stadsnod broker config --kind rabbitmq`): readings
arrive complete, the ACL keeps a node out of another's topics, the last will fires, and nothing
is lost across a RabbitMQ restart."""

from __future__ import annotations

import signal
import ssl
import time

import paho.mqtt.client as mqtt
import pytest
from stadsnod.core.senml import by_name
from stadsnod.testbed.demo_city import DemoCity
from stadsnod.testbed.platform import Platform
from stadsnod.testbed.rabbitmq import RabbitBroker, rabbitmq_installed
from stadsnod.testbed.simnode import provision_sim_node
from stadsnod.testbed.worlds import sim_world

from host_tests.test_nothing_lost import wait_drained, wait_until

pytestmark = pytest.mark.skipif(not rabbitmq_installed(),
                                reason="rabbitmq-server is not installed (make rabbitmq)")
NODES = ("rq-0001", "rq-0002")


@pytest.fixture(scope="module")
def rabbit(tmp_path_factory, sntp):
    """RabbitMQ with two provisioned nodes (users exist once their identities are issued),
    the platform subscribed, the nodes running."""
    d = tmp_path_factory.mktemp("rabbit")
    city = DemoCity.create(d / "city")
    from stadsnod.testbed.broker import free_port

    port = free_port()
    nodes = [provision_sim_node(d / n, n, city, port, sntp.port, world=sim_world(i),
                                interval_s=0.5, every_s=0.1, health_s=1, keepalive_s=5)
             for i, n in enumerate(NODES)]
    with RabbitBroker(d / "broker", city, port=port) as broker:
        platform = Platform(broker).start()
        for n in nodes:
            n.start()
        yield broker, platform, nodes, city
        for n in nodes:
            n.stop()
        platform.stop()


def test_readings_arrive_complete_through_rabbitmq(rabbit) -> None:
    _broker, platform, nodes, _city = rabbit
    seen = wait_until(lambda: len(platform.readings("rq-0001")) >= 6 and
                      platform.readings("rq-0001"), 40, "readings through RabbitMQ")
    top = max(seen)
    assert sorted(seen) == list(range(1, top + 1)), sorted(seen)
    health = wait_until(lambda: platform.of("health", "rq-0001"), 20, "health")
    assert by_name(health[-1].payload)["boot"] >= 1
    assert nodes[0].alive()


def test_a_node_cannot_publish_under_another_nodes_id(rabbit) -> None:
    """rq-0002's own certificate, and a topic of rq-0001: RabbitMQ's topic permission refuses
    it (it closes the connection) and the platform never sees it."""
    broker, platform, _nodes, city = rabbit
    certs = broker.dir.parent / "rq-0002" / "certs"
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="intruder")
    ctx = ssl.create_default_context(cafile=str(city.ca_pem))
    ctx.load_cert_chain(*_pem(certs, broker.dir.parent / "intruder"))
    c.tls_set_context(ctx)
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    forged = b'[{"bn":"urn:dev:org:32473-rq-0001:","n":"seq","v":999999}]'
    info = c.publish("stadsnod/rq-0001/data", forged, qos=1)
    info.wait_for_publish(5) if c.is_connected() else None
    time.sleep(2)
    c.loop_stop()
    assert 999999 not in platform.readings("rq-0001")


def _pem(certs, out):
    """The node's DER identity as PEM files for paho."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    out.mkdir(parents=True, exist_ok=True)
    cert = x509.load_der_x509_certificate((certs / "device.der").read_bytes())
    key = serialization.load_der_private_key((certs / "device.key.der").read_bytes(), None)
    (out / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (out / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return str(out / "c.pem"), str(out / "k.pem")


def test_nothing_is_lost_across_a_rabbitmq_restart_and_the_will_fires(rabbit) -> None:
    broker, platform, nodes, _city = rabbit
    wait_until(lambda: len(platform.readings("rq-0002")) >= 3, 40, "rq-0002's readings")
    broker.stop()
    time.sleep(3)  # readings wait on the nodes' flash
    broker.start()
    wait_until(lambda: platform.client.is_connected(), 30, "the platform back")
    wait_drained(platform, "rq-0002", 12, 60)  # complete after the restart
    known = len(platform.readings("rq-0002"))  # connected (a new reading arrives), then:
    wait_until(lambda: len(platform.readings("rq-0002")) > known, 60, "rq-0002 connected")
    killed = time.time()
    nodes[1].stop(signal.SIGKILL)  # the power goes: the broker publishes its will
    wait_until(lambda: [m for m in platform.of("status", "rq-0002")
                        if m.payload == b"offline" and m.at > killed], 30, "rq-0002's last will")


def test_a_revoked_device_is_refused_by_rabbitmq(rabbit) -> None:
    """City IT revokes rq-0001 and applies it to RabbitMQ: its connection goes, it cannot
    come back, and no reading of it arrives any more (rq-0002 keeps going)."""
    broker, platform, nodes, city = rabbit
    # connected now (after the earlier restart its backoff may still be running): a new
    # reading arrives
    known = len(platform.readings("rq-0001"))
    wait_until(lambda: len(platform.readings("rq-0001")) > known, 60, "rq-0001 connected")
    log_at = len(nodes[0].console())
    city.revoke("rq-0001")
    assert broker.apply_revocations() == ["rq-0001"]
    time.sleep(2)  # anything it had in flight arrives
    before = max(platform.readings("rq-0001"))
    # it retries with its backoff (seconds, more after the earlier restart): each refused
    wait_until(lambda: nodes[0].console()[log_at:].count("refused") >= 2, 90,
               "two refused reconnects")
    since = nodes[0].console()[log_at:]
    assert "connection lost" in since, since[-1500:]
    assert "connected to" not in since.split("connection lost", 1)[1], since[-1500:]
    assert max(platform.readings("rq-0001")) == before
    assert nodes[0].alive()  # refused, not crashed: it keeps its readings on flash


@pytest.mark.xdist_group("rabbitmq-cluster")  # one 3-node cluster at a time on two cores
def test_a_cluster_node_dies_and_its_nodes_and_the_platform_move_on(tmp_path, sntp) -> None:
    """A 3-node RabbitMQ cluster on loopback; a node and the platform both connected to the
    first cluster node, with the other two as further endpoints. The first is SIGKILLed: both
    move to another endpoint and no reading is lost."""
    from stadsnod.testbed.rabbitmq_bench import cluster_failover

    r = cluster_failover(tmp_path, sntp.port, after=30)
    assert r.readings >= 30 and r.lost == 0, r
    assert r.node_moved and r.platform_moved, r
