# The node's MQTT client against a scripted broker on loopback, under MicroPython: lost PUBACKs
# are retransmitted with DUP and the same packet id (MQTT 3.1.1 section 4.4), a broker that never
# acks gives an error instead of a hang (umqtt.simple's failure), a silent broker is dropped
# after 1.5 keepalives (3.1.2.10), and inbound messages reach the callback through check_msg.
import asyncio

import mqttpkt as pk
from mqtt import MQTTClient, MQTTException


class ScriptedBroker:
    """Accepts one client; answers CONNECT; drops the first `lose_acks` PUBACKs."""

    def __init__(self, lose_acks=0, answer_pings=True, push=None):
        self.lose_acks = lose_acks
        self.answer_pings = answer_pings
        self.push = push  # (topic, payload), or a list of them, to send after CONNACK
        self.acked = []  # packet ids the client acknowledged
        self.publishes = []  # (first byte, pid, payload)
        self.pings = 0
        self.connect_body = None

    async def _read(self, r):
        first = (await r.readexactly(1))[0]
        n, shift = 0, 0
        while True:
            b = (await r.readexactly(1))[0]
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        return first, (await r.readexactly(n) if n else b"")

    async def handle(self, r, w):
        try:
            while True:
                first, body = await self._read(r)
                kind = first >> 4
                if kind == pk.CONNECT:
                    self.connect_body = body
                    w.write(b"\x20\x02\x00\x00")
                    pushes = self.push if isinstance(self.push, list) else [self.push]
                    for i, p in enumerate(pushes):
                        if p:
                            w.write(pk.publish(p[0], p[1], 1, False, False, 7 + i))
                elif kind == pk.PUBACK:
                    self.acked.append(pk.parse_pid(body))
                elif kind == pk.PUBLISH:
                    topic, msg, qos, pid, _, _ = pk.parse_publish(first & 0x0F, body)
                    self.publishes.append((first, pid, msg))
                    if qos and self.lose_acks:
                        self.lose_acks -= 1
                    elif qos:
                        w.write(pk.puback(pid))
                elif kind == pk.PINGREQ:
                    self.pings += 1
                    if self.answer_pings:
                        w.write(b"\xd0\x00")
                elif kind == pk.DISCONNECT:
                    break
                await w.drain()
        except (EOFError, OSError):
            pass
        w.close()

    async def start(self, port):
        return await asyncio.start_server(self.handle, "127.0.0.1", port)


async def _client(broker, port, **kw):
    server = await broker.start(port)
    c = MQTTClient("node-1", "127.0.0.1", port, **kw)
    c.set_last_will("stadsnod/node-1/status", "offline", True, 1)
    await c.connect()
    return server, c


async def test_lost_puback_is_retransmitted_with_dup():
    broker = ScriptedBroker(lose_acks=1)
    server, c = await _client(broker, 18831, ack_timeout_ms=200)
    await c.publish("stadsnod/node-1/data", b"[1]", qos=1)
    assert len(broker.publishes) == 2, broker.publishes
    (f1, pid1, m1), (f2, pid2, m2) = broker.publishes
    assert not f1 & 0x08 and f2 & 0x08, "second copy must carry DUP"
    assert pid1 == pid2 and m1 == m2 == b"[1]"
    await c.disconnect()
    server.close()


async def test_broker_that_never_acks_is_an_error_not_a_hang():
    broker = ScriptedBroker(lose_acks=99)
    server, c = await _client(broker, 18832, ack_timeout_ms=100, retries=2)
    try:
        await c.publish("stadsnod/node-1/data", b"x", qos=1)
    except MQTTException as e:
        assert "no PUBACK" in str(e), e
    else:
        raise AssertionError("publish without PUBACK succeeded")
    assert len(broker.publishes) == 3  # first try + 2 retransmissions
    assert not c.connected
    server.close()


async def test_silent_broker_is_dropped_after_one_and_a_half_keepalives():
    broker = ScriptedBroker(answer_pings=False)
    server, c = await _client(broker, 18833, keepalive=1)
    await asyncio.wait_for_ms(c.wait_closed(), 4000)
    assert broker.pings >= 1, "no PINGREQ sent"
    assert "keepalive" in c.reason, c.reason
    server.close()


async def test_keepalive_pings_keep_a_quiet_session_up():
    broker = ScriptedBroker()
    server, c = await _client(broker, 18834, keepalive=1)
    await asyncio.sleep_ms(2500)
    assert c.connected and broker.pings >= 2, broker.pings
    await c.disconnect()
    server.close()


async def test_inbound_message_reaches_callback_via_check_msg():
    got = []
    broker = ScriptedBroker(push=("stadsnod/node-1/cmd", b"hello"))
    server, c = await _client(broker, 18835)
    c.set_callback(lambda t, m, r: got.append((t, m)))
    for _ in range(50):
        if c.check_msg():
            break
        await asyncio.sleep_ms(20)
    assert got == [("stadsnod/node-1/cmd", b"hello")], got
    await c.disconnect()
    server.close()


async def test_connect_carries_the_last_will():
    broker = ScriptedBroker()
    server, c = await _client(broker, 18836)
    body = broker.connect_body
    assert body[7] & 0x04 and body[7] & 0x20, "will flag and will retain"
    assert b"stadsnod/node-1/status" in body and body.endswith(b"\x00\x07offline")
    await c.disconnect()
    server.close()


async def test_an_oversize_inbound_packet_is_acknowledged_and_dropped_unread():
    """A 20 KB PUBLISH (an endless-data attack on /cmd) is not buffered: its head is read, the
    rest skipped in small pieces, it is acknowledged (so the broker does not send it again) and
    counted; the session stays up and the next message arrives."""
    got = []
    big = b"x" * 20000
    broker = ScriptedBroker(push=[("stadsnod/node-1/cmd", big), ("stadsnod/node-1/cmd", b"ok")])
    server, c = await _client(broker, 18837, max_in=12288)
    c.set_callback(lambda t, m, r: got.append((t, m)))
    for _ in range(100):
        c.check_msg()
        if got:
            break
        await asyncio.sleep_ms(20)
    assert got == [("stadsnod/node-1/cmd", b"ok")], [(t, len(m)) for t, m in got]
    for _ in range(50):  # the second PUBACK is on its way to the broker
        if len(broker.acked) == 2:
            break
        await asyncio.sleep_ms(10)
    assert c.oversize == 1 and c.connected
    assert broker.acked == [7, 8], broker.acked
    await c.disconnect()
    server.close()


async def test_publishes_in_flight_are_acked_by_packet_id_and_a_lost_ack_is_reported():
    broker = ScriptedBroker(lose_acks=1)
    server, c = await _client(broker, 18838, ack_timeout_ms=200)
    pids = []  # (MicroPython has no await in a comprehension)
    for i in range(4):
        pids.append(await c.publish_start("stadsnod/node-1/data", b"[%d]" % i))
    assert len(set(pids)) == 4, pids
    got = []
    for pid in pids:
        got.append(await c.acked(pid))
    assert got == [False, True, True, True], got  # the broker dropped the first PUBACK only
    # all four went out before any was acknowledged, each once, QoS 1, no DUP
    assert [(f & 0x0F, pid, m) for f, pid, m in broker.publishes] == \
        [(0x02, pids[i], b"[%d]" % i) for i in range(4)], broker.publishes
    c.forget(pids)
    assert not c._acks  # nothing left waiting
    await c.disconnect()
    server.close()


async def test_a_full_window_of_publishes_leaves_the_heap_as_it_found_it():
    # A dict keeps the table of its fullest moment: the packet ids of a drain's window once
    # grew the soak node's steady heap after every outage.
    import gc

    broker = ScriptedBroker()
    server, c = await _client(broker, 18839, ack_timeout_ms=2000)

    async def window(n):
        pids = []
        for i in range(n):
            pids.append(await c.publish_start("stadsnod/node-1/data", b"[%d]" % i))
        for pid in pids:
            assert await c.acked(pid)
        broker.publishes = []  # the broker's record, not the client's
        pids = None
        gc.collect()
        return gc.mem_alloc()

    await window(1)
    one = await window(1)
    await window(16)
    grown = await window(1) - one
    assert grown == 0, grown
    await c.disconnect()
    server.close()
