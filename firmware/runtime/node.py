# The node: wires one task per sensor, the interval, the broker link, the publisher, health,
# the clock, the Wi-Fi watch and the watchdog. It holds no policy of its own: what is sent
# first and when a reading leaves the queue is storage/outbox.py, the records are
# sensing/interval.py, health is runtime/health.py, the session is link/link.py. Hardware is
# reached only through the board and the drivers.
import asyncio
import gc
import sys

import health
import reading
import senml
import store
from clock import Clock, keep_synced
from commands import Commands, inbound
from drain import drain
from interval import Interval
from link import Link
from mqtt import MQTTException
from net import Net
from outbox import Outbox
from spool import Spool
from watchdog import Watchdog


class Node:
    def __init__(self, cfg, board, log):
        self.cfg = cfg
        self.board = board
        self.log = log
        self.id = cfg["device_id"]
        self.bn = senml.base_name(cfg["urn_pen"], self.id)
        specs = cfg["sensors"] or board.sensors()  # config overrides the board's wiring
        import sensors  # the factory is needed once; its RAM goes back afterwards

        self.sensors = sensors.make_all(specs, board, log, cfg["presence_fusion"])
        del sys.modules["sensors"]
        self.interval = Interval(self.sensors)
        q = cfg["queue"]
        self.clock = Clock()
        self.outbox = Outbox(Spool(q["dir"], q["capacity"], q["segment_records"]), self.clock,
                             store.next_boot(), self.interval.names, q["batch"],
                             q["hold_unsynced_s"], q["batch_bytes"])
        self.heap_peak = self.heap_steady = 0
        self.heap_free_min = gc.mem_free()
        self.commands = Commands(self.id, self.clock, log)
        self.watchdog = Watchdog(None, log)
        self.net = Net(cfg["wifi"]["ssid"], cfg["wifi"]["psk"], log)
        self.wake = asyncio.Event()  # the publisher's: new data, a (re)connect, a message
        self.updates = None  # an updates.Updater while an install or a trial needs one
        self.release_fresh = False  # a fresh timestamp from the update service seen this boot
        self.link = Link(cfg, self.net, log, lambda t, m, r: inbound(self, t, m, r),
                         self._connected, self.wake)
        self.store_errors = 0
        self.published = 0
        self.cycles = 0

    # -- tasks
    async def run(self):
        # TLS setup first, while the heap is still unfragmented: the context wants a few
        # contiguous KB, which a heap already churned by sampling may not have.
        gc.collect()
        self.link.try_tls()
        await self.board.power_up(self.sensors)
        self._start_watchdog()
        iv = self.interval
        tasks = [asyncio.create_task(s.run(self.watchdog, iv.agg, iv.latest))
                 for s in self.sensors]
        for job in (self._intervals(), self.link.run(), self._publisher(), self._health(),
                    keep_synced(self.clock, self.net, self.cfg["ntp"], self.log),
                    self.link.watch_net(), self.watchdog.run()):
            tasks.append(asyncio.create_task(job))
        app = health.app_state()
        if app.get("trial") or app.get("reverted"):  # a release to confirm, a revert to report
            import trial

            tasks.append(asyncio.create_task(trial.watch(self)))
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()

    async def stop(self):
        await self.link.stop()

    def _start_watchdog(self):
        """The tasks whose silence means the node is stuck, with the silence each may keep:
        a sample can wait on its sensor for up to ~15 s, a publish on the broker for ~60 s."""
        w = self.watchdog
        for s in self.sensors:
            for part in (s,) + s.sources:  # fused: each source too
                w.register(part.id, part.every_ms + 30000)
        w.register("aggregator", int(self.cfg["interval_s"] * 1000) + 10000)
        w.register("publisher", 90000)
        # a trial runs under the watchdog the loader started, whatever the config says
        secs = self.cfg["watchdog_s"] or (30 if health.app_state().get("trial") else 0)
        if secs:
            w.wdt = self.board.watchdog(int(secs * 1000))

    async def _intervals(self):
        interval_ms = int(self.cfg["interval_s"] * 1000)
        while True:
            await asyncio.sleep_ms(interval_ms)
            self.watchdog.beat("aggregator")
            try:
                self._queue(self.interval.close())
            except MemoryError:
                self.log.error("aggregate", "out of memory; interval lost")
            self.cycles += 1
            health.heap_quiet(self)

    def _queue(self, values):
        if not values:
            return
        now = self.clock.now()
        if now is not None:
            payload = reading.encode(reading.UNIX, now[0], now[1], self.outbox.boot, values)
        else:  # re-stamped at publish time once the clock is known
            s, ms = self.clock.uptime()
            payload = reading.encode(reading.MONO, s, ms, self.outbox.boot, values)
        try:
            self.outbox.put(payload)
        except OSError as e:  # flash full or failing: say so loudly, keep running
            self.store_errors += 1
            self.log.error("spool", "reading not stored: %s" % e)
            return
        health.heap_busy(self)  # the reading, its encoding and the spool's buffers are alive here
        self.wake.set()

    async def _connected(self):
        health.heap_busy(self)  # TLS session and client tasks are alive now
        await self._publish_health()
        self.wake.set()

    async def _publisher(self):
        while True:
            try:  # wake on new data or a (re)connect, and at least every second for commands
                await asyncio.wait_for_ms(self.wake.wait(), 1000)
            except asyncio.TimeoutError:
                pass
            self.wake.clear()
            self.watchdog.beat("publisher")
            if self.link.connected:
                await self._send_queued()
            if self.link.mqtt:
                self.link.mqtt.check_msg()  # commands (and update pieces) are handed on
            cmds = self.commands
            if cmds.todo or (cmds.results and self.link.connected):
                await cmds.work(self)

    # Errors are caught in short coroutines of their own, not in the loops that await them: a
    # MicroPython frame keeps its popped stack slots, so a loop would hold its last caught
    # exception for good (link.py's _session says more).
    async def _send_queued(self):
        try:
            await drain(self)
        except (MQTTException, OSError) as e:
            self.log.warning("publish", "kept for retry: %s" % e)
        except MemoryError:
            # a fragmented heap has no room for a pack this big: smaller packs, later
            gc.collect()
            self.log.warning("publish", "out of memory; batches of %d for now"
                             % self.outbox.short_of_memory())

    async def _health(self):
        period = int(self.cfg["health_s"] * 1000)
        every = int(self.cfg["updates"]["check_s"] * 1000)  # the update service's freshness
        since = every  # checked once connected, then every check_s
        while True:
            await asyncio.sleep_ms(period)
            since += period
            if self.link.connected and every and since >= every and self.updates is None:
                since = 0  # asked beside the health loop: an absent service costs it nothing
                asyncio.create_task(self.commands.check_release(self))
            if self.link.connected:
                await self._send_health()

    async def _send_health(self):
        try:
            await self._publish_health()
        except (MQTTException, OSError, MemoryError) as e:
            self.log.warning("health", "not sent: %r" % e)

    async def _publish_health(self):
        gc.collect()  # the biggest pack the node builds; give it an unfragmented heap
        await self.link.mqtt.publish(self.link.health_topic, senml.encode(
            self.bn, health.records(self), self.clock.now()))
