# The node runtime: one object per node (several can share a process), pure logic plus asyncio.
# Tasks: one sampler per sensor, the interval aggregator, the broker link, the publisher, the
# health reporter and the clock. Hardware is reached only through the board and the drivers.
import asyncio
import gc
import ssl
import sys

import senml
import store
from aggregate import Aggregator
from clock import Clock, ClockError
from time import ticks_diff, ticks_ms
from mqtt import MQTTClient, MQTTException
from net import Net, NetError
from outbox import Outbox
from sensors import Sensor


class TLSSetupError(Exception):
    pass


class Node:
    def __init__(self, cfg, board, log):
        self.cfg = cfg
        self.board = board
        self.log = log
        self.id = cfg["device_id"]
        prefix = "%s/%s/" % (cfg["topic_root"], self.id)
        self.topic_data = prefix + "data"
        self.topic_status = prefix + "status"
        self.topic_health = prefix + "health"
        self.topic_cmd = prefix + "cmd"
        self.bn = senml.base_name(cfg["urn_pen"], self.id)
        self.sensors = [Sensor(spec, board, log) for spec in cfg["sensors"]]
        # Each record has one source: the first sensor in the config that measures it (list
        # the BME280 before the SCD4x, and temperature comes from the BME280).
        self.units = {}
        for s in self.sensors:
            s.publish = tuple(r for r in s.records if r[0] not in self.units)
            for name, unit in s.publish:
                self.units[name] = unit
        self.latest = {}  # newest value of each record, for drivers that compensate
        self.agg = Aggregator(list(self.units))
        self.outbox = Outbox(16)
        self.net = Net(cfg["wifi"]["ssid"], cfg["wifi"]["psk"], log)
        self.clock = Clock()
        self.mqtt = None
        self.tls_problem = None
        self.started = ticks_ms()
        self.published = 0
        self.cycles = 0
        self.cmd_rejected = 0
        self.heap_peak = 0
        self.heap_steady = 0
        self._wake = asyncio.Event()

    # -- TLS identity: the node's certificate must name this node, and the broker must be verified
    def ssl_context(self):
        tls = self.cfg["tls"]
        try:
            ca = store.read_bytes(tls["ca"])
            cert = store.read_bytes(tls["cert"])
            key = store.read_bytes(tls["key"])
        except OSError as e:
            raise TLSSetupError("missing TLS file (%s): provision this node" % e)
        import certid  # needed once per TLS setup; its RAM goes back afterwards

        try:
            cn = certid.subject_cn(cert)
        except certid.CertError as e:
            raise TLSSetupError("%s is not a usable certificate: %s" % (tls["cert"], e))
        finally:
            del sys.modules["certid"]
        if cn != self.id:
            raise TLSSetupError("certificate is for '%s', not this node '%s'" % (cn, self.id))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.verify_mode = ssl.CERT_REQUIRED  # the wrapper's default is CERT_NONE
        try:
            ctx.load_verify_locations(cadata=ca)
            ctx.load_cert_chain(cert, key)
        except (ValueError, OSError) as e:
            raise TLSSetupError("TLS material rejected: %s" % e)
        return ctx

    def _make_client(self):
        b = self.cfg["broker"]
        c = MQTTClient(self.id, b["host"], b["port"], ssl=self.ssl_context(),
                       server_hostname=b["server_hostname"], keepalive=b["keepalive_s"],
                       log=self.log)
        c.set_last_will(self.topic_status, "offline", retain=True, qos=1)
        c.set_callback(self._on_message)
        return c

    # -- tasks
    async def run(self):
        # TLS setup first, while the heap is still unfragmented: the context wants a few
        # contiguous KB, which a heap already churned by sampling may not have.
        gc.collect()
        self._try_tls()
        tasks = [asyncio.create_task(self._sampler(s)) for s in self.sensors]
        tasks.append(asyncio.create_task(self._aggregator()))
        tasks.append(asyncio.create_task(self._link()))
        tasks.append(asyncio.create_task(self._publisher()))
        tasks.append(asyncio.create_task(self._health()))
        tasks.append(asyncio.create_task(self._clock()))
        tasks.append(asyncio.create_task(self._watch_net()))
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()

    async def stop(self):
        if self.mqtt and self.mqtt.connected:
            await self.mqtt.disconnect()

    async def _sampler(self, sensor):
        while True:
            try:
                await sensor.sample(self.agg, self.latest)
            except MemoryError:
                self.log.error("sensor", "%s: out of memory; sample skipped" % sensor.id)
            await asyncio.sleep_ms(sensor.every_ms)

    async def _aggregator(self):
        interval_ms = int(self.cfg["interval_s"] * 1000)
        while True:
            await asyncio.sleep_ms(interval_ms)
            try:
                self._close_interval()
            except MemoryError:
                self.log.error("aggregate", "out of memory; interval lost")
            self.cycles += 1
            gc.collect()  # the quiet point of the cycle; what is left is the steady heap
            self.heap_steady = gc.mem_alloc()

    def _close_interval(self):
        records = []
        for name in self.agg.names:
            mean = self.agg.mean(name)
            if mean is not None:
                records.append((name, self.units[name], round(mean, 2)))
        for s in self.sensors:
            q = s.quality()
            if q is not None:
                records.append(("quality/" + s.id, "/", round(q, 3)))
            s.new_interval()
        self.agg.reset()
        if records:
            self.outbox.put(self.topic_data, senml.encode(self.bn, records, self._bt()))
            self._note_heap()  # the pack, the records and the outbox are all alive here
            self._wake.set()

    def _bt(self):
        now = self.clock.now()
        return None if now is None else int(now)

    def _try_tls(self):
        try:
            self.mqtt = self._make_client()
            self.tls_problem = None
        except (TLSSetupError, MemoryError) as e:
            self.tls_problem = str(e) or "out of memory setting up TLS"
            self.log.error("tls", "%s; retrying in 30 s" % self.tls_problem)

    async def _link(self):
        while self.mqtt is None:
            await asyncio.sleep_ms(30000)
            gc.collect()
            self._try_tls()
        await self.mqtt.stay_connected(self._net_up, self._on_connect, self.log)

    async def _watch_net(self):
        # A TCP session does not notice a dead radio for a keepalive or more; the station
        # interface does. Drop the session at once so the link task reconnects.
        while True:
            await asyncio.sleep_ms(500)
            if self.mqtt and self.mqtt.connected and not self.net.isconnected():
                self.log.warning("net", "Wi-Fi lost")
                await self.mqtt.abort("Wi-Fi lost")

    async def _net_up(self):
        try:
            await self.net.up()
        except NetError as e:
            raise OSError(str(e))

    async def _on_connect(self):
        self.log.info("mqtt", "connected to %s" % self.cfg["broker"]["host"])
        self._note_heap()  # TLS session and client tasks are alive now
        await self.mqtt.publish(self.topic_status, "online", retain=True, qos=1)
        await self.mqtt.subscribe(self.topic_cmd, qos=1)
        await self._publish_health()
        self._wake.set()

    async def _publisher(self):
        while True:
            try:  # wake on new data or a (re)connect, and at least every second for commands
                await asyncio.wait_for_ms(self._wake.wait(), 1000)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            while self.mqtt and self.mqtt.connected and len(self.outbox):
                topic, payload = self.outbox.peek()
                try:
                    await self.mqtt.publish(topic, payload, qos=1)
                except (MQTTException, OSError) as e:
                    self.log.warning("publish", "kept for retry: %s" % e)
                    break
                self.outbox.done()
                self.published += 1
            if self.mqtt:
                self.mqtt.check_msg()

    async def _health(self):
        period = int(self.cfg["health_s"] * 1000)
        while True:
            await asyncio.sleep_ms(period)
            if self.mqtt and self.mqtt.connected:
                try:
                    await self._publish_health()
                except (MQTTException, OSError, MemoryError) as e:
                    self.log.warning("health", "not sent: %r" % e)

    async def _clock(self):
        ntp = self.cfg["ntp"]
        while True:
            try:
                await self.net.up()
                await self.clock.sync(ntp["host"], ntp["port"])
                self.log.info("clock", "synchronised")
                await asyncio.sleep_ms(3600 * 1000)
            except (ClockError, NetError, OSError) as e:
                self.log.warning("clock", "%s; retrying in 10 s" % e)
                await asyncio.sleep_ms(10000)

    # -- health, heap, commands
    def _note_heap(self):
        """Live heap at a busy moment: collect first, so garbage does not count as use."""
        gc.collect()
        used = gc.mem_alloc()
        if used > self.heap_peak:
            self.heap_peak = used

    def health_records(self):
        r = [
            ("uptime", "s", ticks_diff(ticks_ms(), self.started) // 1000),
            ("heap_used", "B", gc.mem_alloc()),
            ("heap_free", "B", gc.mem_free()),
            ("heap_peak", "B", self.heap_peak),
            ("heap_steady", "B", self.heap_steady),
            ("cycles", "count", self.cycles),
            ("published", "count", self.published),
            ("queued", "count", len(self.outbox)),
            ("dropped", "count", self.outbox.dropped),
            ("cmd_rejected", "count", self.cmd_rejected),
            ("clock_synced", None, self.clock.synced),
        ]
        for s in self.sensors:
            r.append(("sensor/%s/status" % s.id, None, s.status))
            r.append(("sensor/%s/errors" % s.id, "count", s.errors_total))
        problem = self.cfg.get("config_problem") or self.tls_problem
        r.append(("problem", None, problem or self.log.last_problem() or "none"))
        return r

    async def _publish_health(self):
        gc.collect()  # the biggest pack the node builds; give it an unfragmented heap
        await self.mqtt.publish(self.topic_health,
                                senml.encode(self.bn, self.health_records(), self._bt()))

    def _on_message(self, topic, msg, retained):
        # Commands must be signed and fresh; until the provisioning issue brings command keys,
        # every command is refused, counted and logged -- never obeyed.
        self.cmd_rejected += 1
        self.log.warning("cmd", "refused unsigned command on %s (%d bytes)" % (topic, len(msg)))
