# The backlog's way to the broker: the outbox's packs published as SenML with several in
# flight at once (a window), so a long backlog is not paced by one round trip per pack. Each
# pack leaves the queue at its PUBACK, oldest first (a broker acknowledges QoS 1 publishes in
# the order it received them, MQTT 3.1.1 section 4.6); whatever is in flight when the drain
# stops unacknowledged goes again from flash, and consumers drop the duplicates by seq.
import gc

import health
import senml
from micropython import const
from mqtt import MQTTException

# packs per call: then the publisher hands on commands and calls again (a 72-hour backlog
# does not keep a command waiting for its whole drain)
_PACKS_PER_TURN = const(64)


async def drain(node):
    """Publishes what node.outbox has, up to queue.window packs in flight, counting the
    readings the broker acknowledged in node.published. Raises MQTTException or OSError when
    the connection fails, MemoryError when a pack does not fit the heap: the packs in flight
    then go again."""
    link, outbox = node.link, node.outbox
    mqtt = link.mqtt
    window = node.cfg["queue"]["window"]
    flight = []  # [packet id (None: nothing to send), readings], oldest first
    packs = _PACKS_PER_TURN
    try:
        while True:
            while len(flight) < window and packs:
                entries = outbox.take()
                if entries is None:
                    break
                packs -= 1
                pid = None
                if entries:
                    if len(entries) > 1:
                        gc.collect()  # the biggest allocation the node makes: a clean heap
                    pid = await mqtt.publish_start(link.data_topic,
                                                   senml.encode_readings(node.bn, entries))
                flight.append((pid, len(entries)))
            if len(flight) == window and packs == _PACKS_PER_TURN - window:
                health.heap_busy(node)  # once a turn: the window full, a pack just encoded
            if not flight:
                if not packs:
                    node.wake.set()  # more to send after the commands
                return
            pid, n = flight[0]
            if pid is not None and not await mqtt.acked(pid):
                await mqtt.abort("no PUBACK")
                raise MQTTException("no PUBACK for packet %d" % pid)
            flight.pop(0)
            outbox.sent()
            node.published += n
            node.watchdog.beat("publisher")  # a long backlog is progress, not a hang
    finally:
        if outbox.flight:  # taken, maybe sent, not acknowledged (a pack that did not fit too)
            mqtt.forget([pid for pid, _n in flight if pid is not None])
            outbox.rewind()
