"""End to end: the built firmware on the MicroPython unix port, fake BME280 on its fake I2C bus,
publishing over TLS with a client certificate to a real mosquitto; checked by a paho-mqtt
subscriber holding the platform's certificate."""

from __future__ import annotations

import time

import pytest
from stadsnod.core.senml import by_name, resolve

FIXED = {"temperature": 21.5, "pressure": 100200.0, "humidity": 45.0}


def fixed_world(uid="53540000aa01"):
    return {"uid": uid, "wifi": {"ssid": "stadsnod-sim", "psk": "not-a-real-secret"},
            "control_dir": "sim",
            "i2c": {"0": [{"device": "bme280", "address": 0x76, "env": {"fixed": FIXED}}]}}


def wait_console(node, text, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in node.console():
            return
        time.sleep(0.1)
    raise AssertionError(f"'{text}' not in console:\n{node.console()[-2000:]}")


def test_node_publishes_senml_over_tls(make_node, platform):
    node = make_node("aq-0001", world=fixed_world()).start()
    msgs = platform.wait_for(lambda m: m.topic == "stadsnod/aq-0001/data", timeout=25)
    records = resolve(msgs[0].payload)
    prefix = "urn:dev:org:32473-aq-0001:"
    values = {r["n"][len(prefix):]: r for r in records}
    assert values["temperature"]["u"] == "Cel"
    assert values["pressure"]["u"] == "Pa"
    assert values["humidity"]["u"] == "%RH"
    # The fake chip turns the fixed environment into raw counts; the driver's integer
    # compensation must give it back to within its resolution.
    assert abs(values["temperature"]["value"] - 21.5) <= 0.02
    assert abs(values["pressure"]["value"] - 100200.0) <= 2.0
    assert abs(values["humidity"]["value"] - 45.0) <= 0.1
    assert values["quality/bme280_0x76"]["value"] == 1.0
    # The clock was set over SNTP, so the base time is absolute and close to ours.
    assert abs(records[0]["t"] - time.time()) < 10
    status = platform.wait_for(lambda m: m.topic == "stadsnod/aq-0001/status")
    assert status[0].payload == b"online"
    assert node.alive()


def test_published_times_are_the_platforms_clock_to_the_millisecond(make_node, platform):
    """Over a run with a resync every second: each health pack's bt against the moment the
    platform received it (node and platform share the host's time through SNTP), and every
    reading's time against its delivery. A float32 clock steps by 128 s and counts false
    jumps; a clock kept in whole seconds is up to 1 s behind."""
    node = make_node("aq-0009", world=fixed_world(), health_s=0.5)
    node.config["ntp"]["resync_s"] = 1
    node.prepare().start()
    deadline = time.time() + 40
    while len(platform.clock_errors_ms("aq-0009")) < 16 and time.time() < deadline:
        time.sleep(0.2)
    errors = platform.clock_errors_ms("aq-0009")[1:]  # the first may predate the sync
    assert len(errors) >= 15, errors
    # delivery takes a few ms on loopback; a clock 1 ms ahead of the platform's is still exact
    assert all(-2 <= e <= 250 for e in errors), errors
    health = [by_name(m.payload) for m in platform.of("health", "aq-0009")]
    assert health[-1]["clock_synced"] and health[-1]["clock_jumps"] == 0, health[-1]
    fresh = [m for m in platform.of("data", "aq-0009")
             if len(resolve(m.payload)) <= 6]  # one reading a pack: published as it closed
    for m in fresh:
        t = resolve(m.payload)[0]["t"]
        assert 0 <= m.at - t < 1.0, (m.at, t)
    assert fresh and node.alive()


def test_last_will_marks_a_dead_node_offline(make_node, platform):
    node = make_node("aq-0002", world=fixed_world()).start()
    platform.wait_for(lambda m: m.topic == "stadsnod/aq-0002/status" and m.payload == b"online")
    node.stop()  # SIGTERM: no DISCONNECT is sent, so the broker must publish the will
    platform.wait_for(lambda m: m.topic == "stadsnod/aq-0002/status" and m.payload == b"offline")


def test_health_reports_a_nacking_sensor_and_recovery(make_node, platform):
    node = make_node("aq-0003", world=fixed_world()).start()
    platform.wait_for(lambda m: m.topic == "stadsnod/aq-0003/data")
    node.set_fault("i2c0-0x76", "nack")

    def sensor_down(m):
        return m.topic == "stadsnod/aq-0003/health" and "no ACK" in str(
            by_name(m.payload, "urn:dev:org:32473-aq-0003:").get("sensor/bme280_0x76/status"))

    platform.wait_for(sensor_down)
    assert node.alive()
    node.set_fault("i2c0-0x76", None)

    def sensor_ok(m):
        return m.topic == "stadsnod/aq-0003/health" and by_name(
            m.payload, "urn:dev:org:32473-aq-0003:").get("sensor/bme280_0x76/status") == "ok"

    t_fixed = time.time()
    hits = platform.wait_for(lambda m: sensor_ok(m) and m.at > t_fixed)
    errors = by_name(hits[-1].payload, "urn:dev:org:32473-aq-0003:")["sensor/bme280_0x76/errors"]
    assert errors > 0


def test_broker_from_another_ca_is_never_trusted(make_node, tmp_path, platform):
    from stadsnod.testbed.broker import Broker, DemoPKI

    rogue = DemoPKI(tmp_path / "rogue-pki")
    with Broker(tmp_path / "rogue-broker", rogue) as evil:
        node = make_node("aq-0004", world=fixed_world(), port=evil.port).start()
        wait_console(node, "not correctly signed")
        time.sleep(1)
        assert "New client connected" not in evil.log.read_text()
        assert "connected to" not in node.console()
        assert node.alive()


def test_dead_broker_then_recovery_loses_nothing_queued(make_node, demo_pki, tmp_path, platform):
    from stadsnod.testbed.broker import Broker, free_port

    port = free_port()
    node = make_node("aq-0005", world=fixed_world(), port=port).start()
    wait_console(node, "retrying in")
    time.sleep(3)  # ~3 intervals sampled and queued while the broker is down
    assert node.alive()
    came_up = time.time()
    with Broker(tmp_path / "late-broker", demo_pki, port=port) as late:
        from stadsnod.testbed.platform import Platform

        p = Platform(late).start()
        try:
            p.wait_for(lambda m: m.topic == "stadsnod/aq-0005/data", timeout=90)
            time.sleep(2)
            seen = p.readings("aq-0005")
        finally:
            p.stop()
    # every sequence number from the first on, none missing: the backlog, not just some packs
    assert sorted(seen) == list(range(1, max(seen) + 1)), sorted(seen)
    during = [s for s, d in seen.items() if d[0][0] is not None and d[0][0] < came_up]
    assert len(during) >= 3, ("intervals queued during the outage lost", seen)


def test_malformed_config_is_reported_not_fatal(make_node):
    node = make_node("aq-0006", world=fixed_world())
    (node.dir / "config.json").write_text('{"device_id": "aq-0006", "broker": ')
    node.start()
    wait_console(node, "config is not valid JSON")
    wait_console(node, "fix config.json")
    time.sleep(1)
    assert node.alive(), "a bad config must not end the node"


def test_missing_certificate_is_reported_and_sampling_continues(make_node, platform):
    node = make_node("aq-0007", world=fixed_world(), certs=False).start()
    wait_console(node, "missing TLS file")
    wait_console(node, "provision this node")
    time.sleep(1)
    assert node.alive()
    assert not platform.of("data", "aq-0007")


def test_certificate_of_another_node_is_refused(make_node, demo_pki):
    node = make_node("aq-0008", world=fixed_world(), certs=False)
    demo_pki.device("aq-9999", node.dir / "certs")
    node.start()
    wait_console(node, "certificate is for 'aq-9999', not this node 'aq-0008'")
    assert node.alive()


def test_acl_keeps_a_node_inside_its_own_topics(broker, demo_pki, tmp_path, platform):
    import paho.mqtt.client as mqtt
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from provisioning import pki

    certs = tmp_path / "n"
    demo_pki.device("aq-0010", certs)
    cert = x509.load_der_x509_certificate((certs / "device.der").read_bytes())
    key = serialization.load_der_private_key((certs / "device.key.der").read_bytes(), None)
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(pki.PEM))
    pki.Issued(cert, key).write_pem(tmp_path / "c.pem", tmp_path / "k.pem")
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="aq-0010")
    c.tls_set(ca_certs=str(demo_pki.ca_pem), certfile=str(tmp_path / "c.pem"),
              keyfile=str(tmp_path / "k.pem"))
    dropped = []  # a denied publish is dropped silently; the node stays connected
    c.on_disconnect = lambda _c, _u, _f, reason, _p: dropped.append(str(reason))
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    c.publish("stadsnod/aq-0011/data", b"[]", qos=1).wait_for_publish(5)
    c.publish("stadsnod/aq-0010/data", b"[]", qos=1).wait_for_publish(5)
    platform.wait_for(lambda m: m.topic == "stadsnod/aq-0010/data")
    c.loop_stop()
    assert not dropped, f"the broker dropped the node after a denied publish: {dropped}"
    c.disconnect()
    assert not platform.of("data", "aq-0011"), "a node published under another node's id"


def test_air_quality_kits_publish_the_wire_contract(make_node, platform):
    """A BME280 + SCD41 node and a SEN55 + PMS5003 node (fakes with shortened measurement
    periods): every record named and united as the wire contract says, each record from the
    first sensor in the config that measures it."""
    from stadsnod.testbed.worlds import kit_sensors, sim_world

    fixed = {"seed": 3, "fixed": {"temperature": 18.0, "humidity": 50.0, "pressure": 99000.0,
                                  "co2": 650.0, "pm1": 2.0, "pm25": 5.0, "pm4": 6.0,
                                  "pm10": 8.0, "voc_index": 120.0, "nox_index": 2.0}}
    co2 = make_node("aq-0101", world=sim_world(0, env=fixed, kit="co2", time_scale=0.05),
                    sensors=kit_sensors("co2", 0.25, time_scale=0.05)).start()
    pm = make_node("aq-0102", world=sim_world(1, env=fixed, kit="pm-sen5x-pms", time_scale=0.05),
                   sensors=kit_sensors("pm-sen5x-pms", 0.25, time_scale=0.05)).start()

    def pack_with(device: str, names: tuple[str, ...]):
        """The first data pack with all `names`, past the warm-up (all quality flags 1)."""
        def ok(m) -> bool:
            if m.topic != f"stadsnod/{device}/data":
                return False
            v = by_name(m.payload)
            return all(n in v for n in names) and all(
                q == 1.0 for n, q in v.items() if n.startswith("quality/"))
        return platform.wait_for(ok, timeout=30)[0]

    recs = {r["n"].rsplit(":", 1)[1]: r for r in
            resolve(pack_with("aq-0101", ("co2", "temperature")).payload)}
    assert recs["co2"]["u"] == "ppm" and recs["co2"]["value"] == 650
    # temperature comes from the BME280 (listed first), not from the SCD41 with its 4 Cel offset
    assert abs(recs["temperature"]["value"] - 18.0) <= 0.02
    assert recs["quality/scd4x_0x62"]["u"] == "/"

    recs = {r["n"].rsplit(":", 1)[1]: r for r in
            resolve(pack_with("aq-0102", ("pm25", "nox_index", "quality/pms5003")).payload)}
    for name in ("pm1", "pm25", "pm4", "pm10"):
        assert recs[name]["u"] == "ug/m3"
    assert recs["pm25"]["value"] == 5.0 and recs["pm4"]["value"] == 6.0  # from the SEN55
    assert recs["voc_index"]["value"] == 120.0 and recs["voc_index"]["u"] is None
    assert recs["quality/pms5003"]["value"] == 1.0  # measured, though the SEN55 owns PM
    health = platform.wait_for(lambda m: m.topic == "stadsnod/aq-0102/health")[-1]
    h = by_name(health.payload)
    assert h["sensor/sen5x_0x69/status"] == "ok" and h["sensor/pms5003/errors"] == 0
    assert co2.alive() and pm.alive()


def test_a_production_broker_serves_nodes_on_another_address(make_node, demo_pki, tmp_path):
    """`broker config --bind`: a city broker listening on all interfaces serves a node that
    reaches it at 127.0.0.2 (an address other than the loopback default, still inside
    127.0.0.0/8); the default loopback listener does not."""
    import socket

    from stadsnod.testbed.broker import Broker, free_port
    from stadsnod.testbed.platform import Platform

    with Broker(tmp_path / "loopback", demo_pki, port=free_port()) as only_loopback:
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.2", only_loopback.port), timeout=2).close()
    with Broker(tmp_path / "all", demo_pki, bind="0.0.0.0") as b:
        p = Platform(b).start()
        try:
            node = make_node("aq-0010", world=fixed_world(), port=b.port)
            node.config["broker"]["host"] = "127.0.0.2"
            node.prepare().start()
            p.wait_for(lambda m: m.topic == "stadsnod/aq-0010/data", timeout=25)
            conf = (tmp_path / "all" / "mosquitto.conf").read_text()
            assert f"listener {b.port} 0.0.0.0" in conf
        finally:
            p.stop()


def test_a_node_runs_from_a_romfs_image(make_node, platform):
    """The build as a ROMFS image (mpremote's builder), mounted at /rom and imported in place,
    as a board with a ROM partition runs it (the bench measures what that saves)."""
    from stadsnod.core.build import romfs_image
    from stadsnod.core.paths import unix_target

    node = make_node("aq-0010", world=fixed_world())
    node.romfs = romfs_image(unix_target())
    node.start()
    msgs = platform.wait_for(lambda m: m.topic == "stadsnod/aq-0010/data", timeout=25)
    values = {r["n"].rsplit(":", 1)[1]: r["value"] for r in resolve(msgs[0].payload)}
    # the build's lib/ is not on the node's path: every firmware module came from /rom
    assert abs(values["temperature"] - 21.5) <= 0.02 and node.alive()
