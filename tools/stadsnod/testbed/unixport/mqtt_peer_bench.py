# Runs on the MicroPython unix port: the node's MQTT client (link/mqtt.py) and micropython-lib's
# umqtt.simple publish the same SenML packs at QoS 1 to the same broker (a plain TCP listener),
# one after the other. Prints "<client> <publishes/s> <heap bytes>" per line: the heap is what
# the client's modules and a connected client hold, after a collect.
import asyncio
import gc
import os
import time

PORT = int(os.getenv("PEER_PORT"))
COUNT_FAST = 3000  # umqtt.simple with TCP_NODELAY set by this bench
COUNT = 100  # with Nagle's algorithm on, ~45 ms a round trip: one publish at a time
COUNT_WINDOW = 1000  # eight in flight share a round trip
# a pack of ten weather readings, as the node publishes a backlog (profile/wire-contract.md)
RECORD = ('{"n":"seq","t":%d.000,"v":%d},{"n":"temperature","u":"Cel","t":%d.000,"v":6.85},'
          '{"n":"humidity","u":"%%RH","t":%d.000,"v":55.00},{"n":"pressure","u":"Pa","t":%d.000,'
          '"v":101325.00},{"n":"quality/bme280_0x76","u":"/","t":%d.000,"v":1}')


def pack(k):
    parts = ['[{"bn":"urn:dev:org:32473-peer-0001:","bt":1796500000.000,']
    for i in range(10):
        t = 60 * i
        parts.append((RECORD % (t, 10 * k + i, t, t, t, t))[1:] if i == 0 else "," + RECORD % (
            t, 10 * k + i, t, t, t, t))
    parts.append("]")
    return "".join(parts).encode()


PACKS = [pack(k) for k in range(8)]  # made before any measurement; reused in turn
TOPIC = b"stadsnod/peer-0001/data"


def held(base):
    gc.collect()
    return gc.mem_alloc() - base


def umqtt_run(nodelay):
    count = COUNT_FAST if nodelay else COUNT
    gc.collect()
    base = gc.mem_alloc()
    from umqtt.simple import MQTTClient

    c = MQTTClient("peer-umqtt", "127.0.0.1", PORT, keepalive=60)
    c.connect()
    heap = held(base)
    if nodelay:  # what umqtt.simple does not do: its four writes per publish then go at once
        c.sock.setsockopt(6, 1, 1)
    t0 = time.ticks_ms()
    for k in range(count):
        c.publish(TOPIC, PACKS[k % 8], qos=1)  # blocks until its PUBACK
    ms = time.ticks_diff(time.ticks_ms(), t0)
    c.disconnect()
    return count * 1000 / ms, heap


async def stadsnod_run(window):
    gc.collect()
    base = gc.mem_alloc()
    from mqtt import MQTTClient

    c = MQTTClient("peer-stadsnod-%d" % window, "127.0.0.1", PORT, keepalive=60)
    await c.connect()
    heap = held(base)
    count = COUNT if window == 1 else COUNT_WINDOW
    t0 = time.ticks_ms()
    flight = []
    for k in range(count):
        if window == 1:
            await c.publish(TOPIC, PACKS[k % 8], qos=1)
            continue
        flight.append(await c.publish_start(TOPIC, PACKS[k % 8]))
        if len(flight) >= window:
            assert await c.acked(flight.pop(0))
    for pid in flight:
        assert await c.acked(pid)
    ms = time.ticks_diff(time.ticks_ms(), t0)
    await c.disconnect()
    return count * 1000 / ms, heap


rate, heap = umqtt_run(False)
print("umqtt.simple %.0f %d" % (rate, heap))
rate, _heap = umqtt_run(True)
print("umqtt.simple-nodelay %.0f %d" % (rate, heap))
for w in (1, 8):
    rate, heap = asyncio.run(stadsnod_run(w))
    print("stadsnod-window-%d %.0f %d" % (w, rate, heap))
