"""Nothing lost: the built firmware (MicroPython unix port) against real mosquitto through a
broker restart, a power cut of the node, a late clock and a clock jump. Every reading carries
its sequence number; the platform de-duplicates by it, as the wire contract says."""

from __future__ import annotations

import signal
import time

import pytest
from stadsnod.core.senml import by_name, resolve
from stadsnod.testbed.broker import Broker
from stadsnod.testbed.platform import Platform
from stadsnod.testbed.sntp import SNTPServer

FIXED = {"fixed": {"temperature": 21.5, "pressure": 100200.0, "humidity": 45.0}}


def world(uid: str) -> dict:
    return {"uid": uid, "wifi": {"ssid": "stadsnod-sim", "psk": "not-a-real-secret"},
            "control_dir": "sim",
            "i2c": {"0": [{"device": "bme280", "address": 0x76, "env": FIXED}]}}


def readings(platform: Platform, device: str) -> dict[int, list[tuple[float | None, dict]]]:
    return platform.readings(device)


def wait_until(pred, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def pack_seqs(platform: Platform, device: str) -> list[list[int]]:
    """The seq numbers in each data pack, in arrival order (for failure messages)."""
    return [[int(r["value"]) for r in resolve(m.payload, now=0) if r["n"].endswith(":seq")]
            for m in platform.of("data", device)]


def drained(platform: Platform, device: str, at_least: int):
    """All readings 1..n delivered with n >= at_least (the newest reading may overtake the
    backlog, so a count alone could pass with a gap still in flight), else None."""
    r = readings(platform, device)
    return r if len(r) >= at_least and sorted(r) == list(range(1, len(r) + 1)) else None


def wait_drained(platform: Platform, device: str, at_least: int, timeout: float) -> dict:
    try:
        return wait_until(lambda: drained(platform, device, at_least), timeout,
                          f"{at_least} readings without a gap")
    except AssertionError:
        assert_complete(readings(platform, device), pack_seqs(platform, device))
        raise


def assert_complete(seen: dict, packs: list | None = None) -> None:
    seqs = sorted(seen)
    assert seqs == list(range(1, seqs[-1] + 1)), \
        f"gaps: {set(range(1, seqs[-1] + 1)) - set(seqs)}; packs: {packs}"
    for seq, deliveries in seen.items():  # a duplicate is the same reading, never another
        assert all(d == deliveries[0] for d in deliveries), (seq, deliveries)


@pytest.fixture
def own_broker(demo_pki, tmp_path):
    b = Broker(tmp_path / "broker", demo_pki).start()
    p = Platform(b).start()
    yield b, p
    p.stop()
    b.stop()


def test_broker_restart_backlog_drains_in_batches(make_node, own_broker):
    broker, platform = own_broker
    node = make_node("nl-0001", world=world("53540000b001"), port=broker.port, interval_s=0.5,
                     every_s=0.1).start()
    wait_until(lambda: readings(platform, "nl-0001"), 25, "first reading")
    broker.stop()
    time.sleep(5)  # ~10 readings stored on the node's flash meanwhile
    broker.start()
    seen = wait_drained(platform, "nl-0001", 14, 60)
    assert_complete(seen)
    batches = [m for m in platform.of("data", "nl-0001") if m.payload.count(b'"n":"seq"') > 1]
    assert batches, "the backlog was not drained in batches"
    h = wait_until(lambda: [by_name(m.payload) for m in platform.of("health", "nl-0001")
                            if by_name(m.payload)["reconnects"] >= 1], 30, "health after")
    assert h[-1]["dropped"] == 0 and h[-1]["store_errors"] == 0
    assert node.alive()


def test_power_cut_of_the_node_loses_no_stored_reading(make_node, own_broker):
    broker, platform = own_broker
    node = make_node("nl-0002", world=world("53540000b002"), port=broker.port, interval_s=0.3,
                     every_s=0.05)
    node.start()
    wait_until(lambda: len(readings(platform, "nl-0002")) >= 3, 25, "readings")
    broker.stop()  # readings pile up on flash, then the power goes
    time.sleep(2)
    node.stop(signal.SIGKILL)
    broker.start()
    node.start()  # reboot on what the flash kept
    wait_until(lambda: [m for m in platform.of("health", "nl-0002")
                        if by_name(m.payload)["boot"] == 2], 30, "the second boot")
    seen = wait_drained(platform, "nl-0002", 12, 60)
    assert_complete(seen)


def test_readings_before_the_clock_is_set_get_their_real_time(make_node, own_broker):
    broker, platform = own_broker
    with SNTPServer() as ntp:
        ntp.silent = True
        started = time.time()
        node = make_node("nl-0003", world=world("53540000b003"), port=broker.port,
                         interval_s=0.5, every_s=0.1)
        node.config["ntp"]["resync_s"] = 1
        node.config["ntp"]["port"] = ntp.port
        node.prepare().start()
        time.sleep(4)
        assert not readings(platform, "nl-0003"), "published before the clock was known"
        ntp.silent = False
        seen = wait_drained(platform, "nl-0003", 10, 30)
    assert_complete(seen)
    times = [seen[s][0][0] for s in sorted(seen)]
    assert all(t is not None for t in times)
    # the first reading closed ~0.5 s after boot: stamped then, not when it was sent (4 s on)
    assert times[0] - started < 2.5, times[0] - started
    assert all(0.3 < b - a < 0.8 for a, b in zip(times, times[1:], strict=False)), times


def test_a_clock_jump_is_detected_and_reported(make_node, platform):
    with SNTPServer() as ntp:
        node = make_node("nl-0004", world=world("53540000b004"), health_s=0.5)
        node.config["ntp"]["resync_s"] = 1
        node.config["ntp"]["port"] = ntp.port
        node.prepare().start()
        wait_until(lambda: platform.of("data", "nl-0004"), 25, "data")
        ntp.offset = 30.0
        h = wait_until(lambda: [by_name(m.payload) for m in platform.of("health", "nl-0004")
                                if by_name(m.payload)["clock_jumps"] >= 1], 20, "a reported jump")
    assert h[-1]["firmware"] and h[-1]["reset_cause"] == 1 and h[-1]["rssi"] < 0
    assert h[-1]["heap_free_min"] > 0 and "queued" in h[-1]


def test_watchdog_resets_a_hung_node_and_the_reboot_says_why(make_node, platform):
    node = make_node("nl-0005", world=world("53540000b005"), watchdog_s=2, health_s=0.5)
    node.start()
    wait_until(lambda: platform.of("data", "nl-0005"), 25, "data")
    node.set_fault("i2c0-0x76", "freeze")  # the I2C bus hangs the CPU: no task runs
    wait_until(lambda: node.resets, 15, "a watchdog reset")
    node.set_fault("i2c0-0x76", None)
    assert node.resets[0] == 3  # WDT_RESET
    h = wait_until(lambda: [by_name(m.payload) for m in platform.of("health", "nl-0005")
                            if by_name(m.payload)["boot"] == 2], 30, "the second boot")
    assert h[-1]["reset_cause"] == 3
    time.sleep(3)
    assert node.resets == [3] and node.alive()  # a healthy node is never reset


@pytest.fixture
def proxied(own_broker):
    from stadsnod.testbed.faultproxy import FaultProxy

    broker, platform = own_broker
    with FaultProxy(broker.port) as proxy:
        yield proxy, platform


@pytest.mark.parametrize("fault", ["blackhole", "reset", "drop", "refuse", "delay"])
def test_network_faults_lose_nothing(make_node, proxied, fault):
    proxy, platform = proxied
    dev = f"nl-net-{fault}"
    node = make_node(dev, world=world(f"53540000c0{len(fault):02x}"), port=proxy.port,
                     interval_s=0.4, every_s=0.1, keepalive_s=5)
    node.start()
    wait_until(lambda: readings(platform, dev), 25, "first readings")
    if fault in ("drop", "refuse"):
        proxy.drop()  # every session cut; "refuse" also turns new ones away for a while
    if fault != "drop":
        proxy.set(fault, delay_s=0.5)
    time.sleep(8)  # > 1.5 keepalives: a blackholed session must have been noticed
    if fault == "delay":
        assert node.alive()
    proxy.set("pass")
    if fault == "blackhole":
        proxy.drop()  # the swallowed session is dead either way
    seen = wait_drained(platform, dev, 25, 60)
    assert_complete(seen, pack_seqs(platform, dev))
    if fault != "delay":
        assert proxy.connections >= 2, "the node never reconnected"


def test_tls_failure_then_recovery(make_node, own_broker, tmp_path):
    """The node first reaches something that is not the broker (a TCP service that answers
    the TLS hello with garbage), keeps its readings, then gets the real broker."""
    import socket
    import threading

    broker, platform = own_broker
    impostor = socket.create_server(("127.0.0.1", 0))
    port = impostor.getsockname()[1]
    stop = threading.Event()

    def answer_garbage():
        impostor.settimeout(0.2)
        while not stop.is_set():
            try:
                c, _ = impostor.accept()
            except OSError:
                continue
            c.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
            c.close()

    t = threading.Thread(target=answer_garbage, daemon=True)
    t.start()
    from stadsnod.testbed.faultproxy import FaultProxy

    with FaultProxy(port) as proxy:
        node = make_node("nl-tls", world=world("53540000c101"), port=proxy.port,
                         interval_s=0.4, every_s=0.1)
        node.start()
        time.sleep(4)
        assert "retrying in" in node.console() and node.alive()
        stop.set()
        impostor.close()
        proxy.upstream = ("127.0.0.1", broker.port)  # the real broker from now on
        seen = wait_drained(platform, "nl-tls", 12, 60)
    assert_complete(seen)


def test_dns_failure_keeps_readings_on_flash(make_node):
    node = make_node("nl-dns", world=world("53540000c102"), interval_s=0.3, every_s=0.1)
    node.config["broker"]["host"] = "broker.invalid"  # RFC 6761: never resolves
    node.prepare().start()
    time.sleep(4)
    assert node.alive()
    log = node.console()
    assert "retrying in" in log, log[-1500:]
    segs = sorted((node.dir / "q").glob("*.seg"))
    assert segs and sum(p.stat().st_size for p in segs) > 200  # ~12 readings kept


def test_short_soak_loses_nothing_and_holds_its_heap():
    """`make soak` runs a simulated day; this is two simulated hours with 30 minutes offline."""
    from stadsnod.testbed.soak import run_soak

    r = run_soak(hours=2, outage_hours=0.5)
    assert r.readings >= 110 and r.lost == 0 and r.watchdog_resets == 0, r
    assert r.heap_growth <= 2048, r  # steady heap: no per-reading growth (noise is ~100 B)


def test_a_backlog_drains_with_packs_in_flight_through_a_broker_restart(tmp_path):
    """1,500 queued readings (25 hours at one a minute, on the firmware's own spool) leave with
    eight packs in flight (the default window); the broker restarts partway, so packs are in
    flight when the connection goes: they go again after the reconnect, and every duplicate
    is the same reading."""
    from stadsnod.testbed.drain_bench import run_drain

    r = run_drain(1500, tmp_path, restart_at=300)
    assert 0 < r.restarted_at < 1500, r  # the restart came while the backlog was draining
    assert r.lost == 0 and r.differing == 0, r


def test_a_node_moves_to_the_next_endpoint_when_its_broker_dies(make_node, demo_pki, tmp_path):
    """Two brokers serving the same city (an endpoint list, as for a cluster): the node's
    broker is killed; the node moves to the other endpoint and everything arrives there or
    arrived before, no reading lost."""
    a = Broker(tmp_path / "broker-a", demo_pki).start()
    b = Broker(tmp_path / "broker-b", demo_pki).start()
    pa, pb = Platform(a).start(), Platform(b).start()
    try:
        node = make_node("nl-0007", world=world("53540000b007"), port=a.port, interval_s=0.5,
                         every_s=0.1, broker={"host": "127.0.0.1", "port": a.port,
                                              "server_hostname": "broker.stadsnod.local",
                                              "keepalive_s": 10,
                                              "endpoints": [f"127.0.0.1:{b.port}"]}).start()
        wait_until(lambda: len(readings(pa, "nl-0007")) >= 4, 25, "readings through broker A")
        a.stop()
        wait_until(lambda: len(readings(pb, "nl-0007")) >= 6, 40, "readings through broker B")

        def union() -> dict:
            seen = readings(pa, "nl-0007")
            for seq, deliveries in readings(pb, "nl-0007").items():
                seen.setdefault(seq, []).extend(deliveries)
            return seen

        seen = union()
        assert_complete(seen)
        assert min(readings(pb, "nl-0007")) <= max(readings(pa, "nl-0007")) + 1  # no gap
        assert node.alive()
    finally:
        pa.stop()
        pb.stop()
        a.stop()
        b.stop()
