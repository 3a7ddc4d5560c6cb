# The node runtime: one object per node (several can share a process), pure logic plus asyncio.
# Tasks: one sampler per sensor, the interval aggregator, the broker link, the publisher, the
# health reporter and the clock. Hardware is reached only through the board and the drivers.
import asyncio
import gc
import ssl
import sys

import reading
import senml
import store
from aggregate import Aggregator
from clock import Clock, ClockError
from time import ticks_diff, ticks_ms
from mqtt import MQTTClient, MQTTException
from net import Net, NetError
from sensors import PRESENCE
from sensors import make as make_sensor
from spool import Spool
from version import VERSION
from watchdog import Watchdog

_EARLY_MAX = 16  # fresh readings sent ahead of a backlog, remembered until the drain passes


def next_boot(path="boot"):
    """This boot's number (persisted), so monotonic timestamps of a past boot are never taken
    for this one's."""
    try:
        n = int(store.read_text(path)) + 1
    except (OSError, ValueError):
        n = 1
    store.write_atomic(path, str(n))
    return n


class TLSSetupError(Exception):
    pass


def tls_context(cfg):
    """The node's TLS client context: its own certificate (which must name this node) and the
    CA that signs the broker, verified (CERT_REQUIRED)."""
    tls = cfg["tls"]
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
    if cn != cfg["device_id"]:
        raise TLSSetupError("certificate is for '%s', not this node '%s'"
                            % (cn, cfg["device_id"]))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED  # the wrapper's default is CERT_NONE
    try:
        ctx.load_verify_locations(cadata=ca)
        ctx.load_cert_chain(cert, key)
    except (ValueError, OSError) as e:
        raise TLSSetupError("TLS material rejected: %s" % e)
    return ctx


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
        specs = cfg["sensors"] or board.sensors()  # config overrides the board's wiring
        self.sensors = [make_sensor(spec, board, log) for spec in specs]
        if any(s["driver"] in PRESENCE for s in specs):
            import occupancy  # several presence sensors give one presence, fused
            self.sensors = occupancy.fuse(self.sensors, cfg["presence_fusion"], log)
        # Each record has one source: the first sensor in the config that measures it (list
        # the BME280 before the SCD4x, and temperature comes from the BME280).
        self.units = {}
        for s in self.sensors:
            s.publish = tuple(r for r in s.records if r[0] not in self.units)
            for name, unit in s.publish:
                self.units[name] = unit
        self.latest = {}  # newest value of each record, for drivers that compensate
        self.agg = Aggregator(list(self.units))
        # names of the records a reading can hold, as stored with each spool segment
        self.names = [[n, u] for n, u in self.units.items()] + \
            [["quality/" + s.id, "/"] for s in self.sensors]
        self.index = {n[0]: i for i, n in enumerate(self.names)}
        q = cfg["queue"]
        self.spool = Spool(q["dir"], q["capacity"], q["segment_records"])
        self.batch = q["batch"]
        self.batch_now = self.batch  # smaller while the heap is short
        self.boot = next_boot()
        self.fresh = None  # (seq, payload) of the newest reading, until it is sent
        self.early = []  # seqs sent ahead of the backlog
        self.store_errors = 0
        self.connects = 0
        self.heap_free_min = gc.mem_free()
        self.watchdog = Watchdog(None, log)
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
        return tls_context(self.cfg)

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
        if self.board.sensor_power(True):
            await asyncio.sleep_ms(1000)  # SCD4x: 1000 ms from power-up to its first command
        self._start_watchdog()
        tasks = [asyncio.create_task(s.run(self.watchdog) if getattr(s, "streaming", False)
                                     else self._sampler(s)) for s in self.sensors]
        tasks.append(asyncio.create_task(self._aggregator()))
        tasks.append(asyncio.create_task(self._link()))
        tasks.append(asyncio.create_task(self._publisher()))
        tasks.append(asyncio.create_task(self._health()))
        tasks.append(asyncio.create_task(self._clock()))
        tasks.append(asyncio.create_task(self._watch_net()))
        tasks.append(asyncio.create_task(self.watchdog.run()))
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()

    async def stop(self):
        if self.mqtt and self.mqtt.connected:
            await self.mqtt.disconnect()

    def _start_watchdog(self):
        """The tasks whose silence means the node is stuck, with the silence each may keep:
        a sample can wait on its sensor for up to ~15 s, a publish on the broker for ~60 s."""
        w = self.watchdog
        for s in self.sensors:
            for part in (s,) + tuple(getattr(s, "sources", ())):  # fused: each source too
                w.register(part.id, part.every_ms + 30000)
        w.register("aggregator", int(self.cfg["interval_s"] * 1000) + 10000)
        w.register("publisher", 90000)
        if self.cfg["watchdog_s"]:
            w.wdt = self.board.watchdog(int(self.cfg["watchdog_s"] * 1000))

    async def _sampler(self, sensor):
        while True:
            self.watchdog.beat(sensor.id)
            try:
                await sensor.sample(self.agg, self.latest)
            except MemoryError:
                gc.collect()  # and try again next time on a cleaner heap
                self.log.error("sensor", "%s: out of memory; sample skipped" % sensor.id)
            await asyncio.sleep_ms(sensor.every_ms)

    async def _aggregator(self):
        interval_ms = int(self.cfg["interval_s"] * 1000)
        while True:
            await asyncio.sleep_ms(interval_ms)
            self.watchdog.beat("aggregator")
            try:
                self._close_interval()
            except MemoryError:
                self.log.error("aggregate", "out of memory; interval lost")
            self.cycles += 1
            gc.collect()  # the quiet point of the cycle; what is left is the steady heap
            self.heap_steady = gc.mem_alloc()

    def _close_interval(self):
        values = []
        for name in self.agg.names:
            mean = self.agg.mean(name)
            if mean is not None:
                values.append((self.index[name], mean))
        for s in self.sensors:
            if getattr(s, "streaming", False):  # levels of the interval, not means of samples
                for name, value in s.interval_values():
                    if name in self.index:
                        values.append((self.index[name], value))
        for s in self.sensors:
            q = s.quality()
            if q is not None:
                values.append((self.index["quality/" + s.id], q))
            s.new_interval()
        self.agg.reset()
        if not values:
            return
        if self.clock.synced:
            payload = reading.encode(reading.UNIX, self.clock.now(), self.boot, values)
        else:  # re-stamped at publish time once the clock is known
            payload = reading.encode(reading.MONO, self.clock.mono_ms(), self.boot, values)
        try:
            seq = self.spool.append(self.names, payload)
        except OSError as e:  # flash full or failing: say so loudly, keep running
            self.store_errors += 1
            self.log.error("spool", "reading not stored: %s" % e)
            return
        self.fresh = (seq, payload)
        self._note_heap()  # the reading, its encoding and the spool's buffers are alive here
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
        self.connects += 1
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
            self.watchdog.beat("publisher")
            while self.mqtt and self.mqtt.connected:
                try:
                    if not await self._publish_next():
                        break
                except (MQTTException, OSError) as e:
                    self.log.warning("publish", "kept for retry: %s" % e)
                    break
                except MemoryError:
                    # a fragmented heap has no room for a pack this big: smaller packs, later
                    gc.collect()
                    self.batch_now = max(1, self.batch_now // 2)
                    self.log.warning("publish", "out of memory; batches of %d for now"
                                     % self.batch_now)
                    break
            if self.mqtt:
                self.mqtt.check_msg()

    def _restamp(self, seq, names, payload):
        """(seq, Unix time or None, records) of a stored reading. A monotonic stamp of this
        boot becomes Unix time once the clock is synchronised; one from an earlier boot that
        never saw a clock stays without time."""
        kind, t, boot, values = reading.decode(payload)
        if kind == reading.MONO:
            t = self.clock.unix_at(t) if boot == self.boot else None
        elif kind != reading.UNIX:
            t = None
        return seq, t, [(names[i][0], names[i][1], bool(v) if names[i][0] in senml.BOOLEAN
                         else v) for i, v in values]

    def _holding(self, payload):
        """A reading of this boot stamped before the clock was set waits for the clock, for
        up to hold_unsynced_s of uptime."""
        try:
            kind, _t, boot, _v = reading.decode(payload)
        except (ValueError, TypeError):
            return False  # the batch code counts it as damaged
        return kind == reading.MONO and boot == self.boot and \
            self.clock.mono_ms() < self.cfg["queue"]["hold_unsynced_s"] * 1000

    async def _publish_next(self):
        """One pack: the newest reading if it is waiting behind a backlog (fresh data is never
        starved), else a batch of the oldest. False when there is nothing to send."""
        batch = self.spool.peek(self.batch_now)
        if not batch:
            return False
        if not self.clock.synced and self._holding(batch[0][2]):
            return False  # it will get its real time when the clock is set
        fresh = self.fresh
        if fresh and fresh[0] != batch[0][0] and len(self.early) < _EARLY_MAX:
            self.fresh = None
            entry = self._restamp(fresh[0], self.names, fresh[1])
            await self.mqtt.publish(self.topic_data, senml.encode_readings(self.bn, [entry]),
                                    qos=1)
            self.early.append(fresh[0])
            self.published += 1
            return True
        entries = []
        timed = None
        last = 0
        for seq, names, payload, _pos in batch:
            if seq in self.early:
                last += 1  # already sent ahead; acknowledged with this batch
                continue
            try:
                e = self._restamp(seq, names, payload)
            except (ValueError, IndexError, TypeError):
                self.spool.corrupt += 1  # unreadable: acknowledged, never published
                last += 1
                continue
            if timed is None:
                timed = e[1] is not None
            elif timed != (e[1] is not None):
                break  # a pack holds readings all with a time or all without
            entries.append(e)
            last += 1
        if entries:
            if len(entries) > 1:
                gc.collect()  # the biggest allocation the node makes: give it a clean heap
            await self.mqtt.publish(self.topic_data, senml.encode_readings(self.bn, entries),
                                    qos=1)
            self.published += len(entries)
            if self.batch_now < self.batch:
                self.batch_now += 1
        top = batch[last - 1][0]
        self.spool.ack(batch[last - 1][3], last)
        self.early = [s for s in self.early if s > top]
        if self.fresh and self.fresh[0] <= top:
            self.fresh = None
        return True

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
                jumps = self.clock.jumps
                await self.clock.sync(ntp["host"], ntp["port"])
                if self.clock.jumps > jumps:
                    self.log.warning("clock", "jumped by %.1f s" % self.clock.last_jump_s)
                else:
                    self.log.info("clock", "synchronised")
                await asyncio.sleep_ms(int(ntp["resync_s"] * 1000))
            except (ClockError, NetError, OSError) as e:
                retry = min(10, ntp["resync_s"])
                self.log.warning("clock", "%s; retrying in %d s" % (e, retry))
                await asyncio.sleep_ms(int(retry * 1000))

    # -- health, heap, commands
    def _note_heap(self):
        """Live heap at a busy moment: collect first, so garbage does not count as use."""
        gc.collect()
        used = gc.mem_alloc()
        if used > self.heap_peak:
            self.heap_peak = used
        free = gc.mem_free()
        if free < self.heap_free_min:
            self.heap_free_min = free

    def health_records(self):
        r = [
            ("uptime", "s", ticks_diff(ticks_ms(), self.started) // 1000),
            ("heap_used", "B", gc.mem_alloc()),
            ("heap_free", "B", gc.mem_free()),
            ("heap_peak", "B", self.heap_peak),
            ("heap_steady", "B", self.heap_steady),
            ("cycles", "count", self.cycles),
            ("heap_free_min", "B", self.heap_free_min),
            ("published", "count", self.published),
            ("queued", "count", len(self.spool)),
            ("dropped", "count", self.spool.dropped),
            ("store_errors", "count", self.store_errors + self.spool.corrupt),
            ("flash_written", "B", self.spool.written_bytes),
            ("reconnects", "count", max(0, self.connects - 1)),
            ("cmd_rejected", "count", self.cmd_rejected),
            ("clock_synced", None, self.clock.synced),
            ("clock_jumps", "count", self.clock.jumps),
            ("reset_cause", None, self.board.reset_cause()),
            ("boot", "count", self.boot),
            ("firmware", None, VERSION),
        ]
        rssi = self.net.rssi()
        if rssi is not None:
            r.append(("rssi", "dBm", rssi))
        for s in self.sensors:
            for part in getattr(s, "sources", ()) or (s,):  # fused sensors: each source
                r.append(("sensor/%s/status" % part.id, None, part.status))
                r.append(("sensor/%s/errors" % part.id, "count", part.errors_total))
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
