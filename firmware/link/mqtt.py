# A small asyncio MQTT 3.1.1 client for the node, with umqtt.simple's method names.
# Why not umqtt.simple: it blocks forever on a lost PUBACK, never sends keepalive pings (so the
# last will may never fire) and cannot reconnect. This one keeps a reader task and a keepalive
# task beside the caller, retransmits QoS 1 publishes with DUP, can keep several QoS 1
# publishes in flight (publish_start/acked), and gives up with an error instead of hanging.
# Packets are built in mqttpkt.py, the socket opened in tcp_stream.py; reconnecting is link.py's.
import asyncio
import time

import mqttpkt as pk
import tcp_stream


class MQTTException(Exception):
    pass


class MQTTClient:
    def __init__(self, client_id, server, port=8883, ssl=None, server_hostname=None,
                 keepalive=60, user=None, password=None, log=None, ack_timeout_ms=5000,
                 retries=2, inbox_size=8, max_in=12288):
        self.client_id, self.server, self.port = client_id, server, port
        self.ssl, self.server_hostname, self.keepalive = ssl, server_hostname, keepalive
        self.user, self.password = user, password
        self.log, self.ack_timeout_ms, self.retries = log, ack_timeout_ms, retries
        self.will = self.cb = self.wake = None  # wake: an Event set when a message arrives
        self._reader = self._writer = None
        self._tasks = []
        self._lock = asyncio.Lock()
        self._pid, self._granted = 0, {}
        self._acks = {}  # pid -> Event, for PUBACK and SUBACK
        self._inbox = []  # inbound (topic, msg, retained) until check_msg hands them on
        self._inbox_size, self.max_in = inbox_size, max_in  # max_in: an inbound packet's cap
        self.inbox_dropped = self.oversize = 0
        self._closed = asyncio.Event()
        self._closed.set()
        self._last_rx = self._last_tx = 0
        self.connected, self.reason = False, "never connected"

    # -- umqtt.simple API
    def set_callback(self, f):
        self.cb = f

    def set_last_will(self, topic, msg, retain=False, qos=0):
        pk.check_topic(topic)
        self.will = (topic, msg, qos, retain)

    async def connect(self, clean_session=True, timeout_ms=15000):
        if self.connected:
            await self._close("reconnect")
        try:
            # One deadline for all of it: the TLS handshake only runs at the first write, so a
            # path that swallows packets would otherwise hang in the CONNECT send forever.
            ptype, _, body = await asyncio.wait_for_ms(self._open(clean_session), timeout_ms)
        except asyncio.TimeoutError:
            await self._drop()
            raise MQTTException("broker did not answer within %d ms" % timeout_ms)
        except (OSError, ValueError) as e:  # mbedTLS reports handshake failures as OSError/ValueError
            await self._drop()
            raise MQTTException("cannot connect to %s:%d: %s" % (self.server, self.port, why(e)))
        if ptype != pk.CONNACK:
            await self._drop()
            raise MQTTException("expected CONNACK, got packet type %d" % ptype)
        _, rc = pk.parse_connack(body)
        if rc:
            await self._drop()
            reason = pk.CONNACK_REASONS[rc] if rc < len(pk.CONNACK_REASONS) else str(rc)
            raise MQTTException("broker refused connection: %s" % reason)
        self.connected, self.reason = True, "connected"
        self._closed = asyncio.Event()
        self._last_rx = self._last_tx = time.ticks_ms()
        self._tasks = [asyncio.create_task(self._read_loop()),
                       asyncio.create_task(self._keepalive_loop())]
        return False

    async def _open(self, clean_session):
        self._reader = self._writer = await tcp_stream.open_connection(
            self.server, self.port, ssl=self.ssl, server_hostname=self.server_hostname)
        await self._send(pk.connect(self.client_id, self.keepalive, clean_session, self.will,
                                    self.user, self.password))
        return await self._read_packet()

    async def disconnect(self):
        if self.connected:
            try:
                await self._send(pk.DISCONNECT_PACKET)
            except OSError:
                pass
        await self._close("disconnected")

    async def ping(self):
        await self._send(pk.PINGREQ_PACKET)

    async def publish(self, topic, msg, retain=False, qos=0):
        if not self.connected:
            raise MQTTException("not connected")
        # the payload follows its head to the socket, uncopied: a pack's only copy
        if isinstance(msg, str):
            msg = msg.encode()
        if not qos:
            await self._send(pk.publish_head(topic, len(msg), 0, retain), msg)
            return
        pid = self._next_pid()
        for attempt in range(self.retries + 1):
            await self._send(pk.publish_head(topic, len(msg), 1, retain, attempt > 0, pid), msg)
            if await self._await_ack(pid):
                return
            if not self.connected:
                break
        await self._close("no PUBACK")
        raise MQTTException("no PUBACK for packet %d after %d tries" % (pid, attempt + 1))

    async def publish_start(self, topic, msg, retain=False):
        """Sends a QoS 1 publish, returns its packet id at once (several can be in flight;
        acked(pid) waits). No retransmission here: the caller sends again on reconnect."""
        if not self.connected:
            raise MQTTException("not connected")
        if isinstance(msg, str):
            msg = msg.encode()
        pid = self._next_pid()
        self._acks[pid] = asyncio.Event()  # before the send: the PUBACK may beat the await
        try:
            await self._send(pk.publish_head(topic, len(msg), 1, retain, False, pid), msg)
        except BaseException:
            self._take(pid)  # not sent: the caller never learns this id to forget it
            raise
        return pid

    async def acked(self, pid):
        """True once the PUBACK of publish_start's `pid` is in; False when none came within
        ack_timeout_ms or the connection went."""
        ev = self._acks.get(pid)
        if ev is None:
            return True  # the reader has already taken it off
        return await self._await_ack(pid, ev)

    def forget(self, pids):
        """Stops waiting for these packet ids (their packs will be sent again)."""
        for pid in pids:
            self._take(pid)

    async def subscribe(self, topic, qos=0):
        if not self.connected:
            raise MQTTException("not connected")
        pid = self._next_pid()
        await self._send(pk.subscribe(pid, topic, qos))
        if not await self._await_ack(pid):
            await self._close("no SUBACK")
            raise MQTTException("no SUBACK for %s" % topic)
        if self._granted.pop(pid, 0x80) == 0x80:
            raise MQTTException("broker refused subscription to %s" % topic)

    def check_msg(self):
        """Hands queued inbound messages to the callback; returns how many."""
        n = 0
        while self._inbox:
            topic, msg, retained = self._inbox.pop(0)
            n += 1
            if self.cb:
                self.cb(topic, msg, retained)
        return n

    async def abort(self, reason):
        """Drops the connection without DISCONNECT: the link under it is gone, or a connect
        failed halfway (its socket goes too)."""
        await self._close(reason)

    async def wait_closed(self):
        await self._closed.wait()

    # -- internals
    def _take(self, pid):
        ev = self._acks.pop(pid, None)
        if not self._acks:  # a dict keeps the table of its fullest moment (a drain's window)
            self._acks = {}
        return ev

    def _next_pid(self):
        self._pid = self._pid % 0xFFFF + 1
        return self._pid

    async def _await_ack(self, pid, ev=None):
        if ev is None:
            ev = self._acks[pid] = asyncio.Event()
        try:
            await asyncio.wait_for_ms(ev.wait(), self.ack_timeout_ms)
        except asyncio.TimeoutError:
            pass
        # The reader removes a pid when its ack arrives; a close only wakes the waiter.
        return self._take(pid) is None

    async def _send(self, data, payload=None):
        w = self._writer
        if w is None:
            raise MQTTException("not connected")
        try:
            async with self._lock:
                w.write(data)
                if payload is not None:
                    w.write(payload)
                await w.drain()
        except OSError as e:  # a socket that cannot write is gone, whatever the reader saw
            asyncio.create_task(self._close(why(e)))
            raise
        self._last_tx = time.ticks_ms()

    async def _read_packet(self):
        ptype, flags, body = await pk.read_packet(self._read, self.max_in)
        self.oversize += flags >> 4 & 1  # 0x10: over max_in, its body skipped
        self._last_rx = time.ticks_ms()
        return ptype, flags, body

    def _read(self, n):
        return tcp_stream.readexactly(self._reader, n)

    async def _read_loop(self):
        try:
            while True:
                ptype, flags, body = await self._read_packet()
                if ptype == pk.PUBLISH:
                    topic, msg, qos, pid, retained, _ = pk.parse_publish(flags & 0x0F, body)
                    if flags & 0x10:
                        pass  # over max_in: acknowledged, never delivered (counted)
                    elif len(self._inbox) >= self._inbox_size:
                        self.inbox_dropped += 1
                    else:
                        self._inbox.append((topic, msg, retained))
                        self.wake and self.wake.set()
                    if qos == 1:
                        await self._send(pk.puback(pid))
                elif ptype == pk.PUBACK or ptype == pk.SUBACK:
                    pid = pk.parse_pid(body)
                    if ptype == pk.SUBACK:
                        self._granted[pid] = body[2] if len(body) > 2 else 0x80
                    ev = self._take(pid)
                    ev and ev.set()
                elif ptype != pk.PINGRESP:
                    raise pk.MQTTProtocolError("unexpected packet type %d" % ptype)
        except asyncio.CancelledError:
            return
        except (OSError, EOFError, ValueError, MQTTException, MemoryError) as e:
            reason = why(e) or "broker closed the connection"  # MemoryError: no room to read
            asyncio.create_task(self._close(reason))

    async def _keepalive_loop(self):
        # Ping after half a keepalive of silence from us; give up after 1.5 keepalives without
        # hearing the broker (spec 3.1.2.10 lets the broker wait 1.5x too). It sleeps until the
        # nearer of the two is due, instead of looking once a second.
        ka = self.keepalive * 1000
        try:
            while self.connected:
                now = time.ticks_ms()
                silent = time.ticks_diff(now, self._last_rx)
                if silent > ka * 3 // 2:
                    asyncio.create_task(self._close("keepalive: broker silent"))
                    return
                quiet = time.ticks_diff(now, self._last_tx)
                if quiet > ka // 2:
                    await self.ping()
                    continue
                await asyncio.sleep_ms(min(ka // 2 - quiet, ka * 3 // 2 - silent) + 1)
        except asyncio.CancelledError:
            return
        except (OSError, MQTTException) as e:
            asyncio.create_task(self._close(why(e)))

    async def _drop(self):
        w = self._writer
        self._reader = self._writer = None
        if w is not None:
            try:
                w.close()
                await w.wait_closed()
            except (OSError, ValueError):
                pass

    async def _close(self, reason):
        was, self.connected = self.connected, False
        current = asyncio.current_task()
        for t in self._tasks:
            if t is not current:
                t.cancel()
        self._tasks = []
        for ev in self._acks.values():
            ev.set()  # wake waiters; they see connected == False
        await self._drop()
        if was:
            self.reason = reason
        self._closed.set()


def why(e):
    """A short reason for a failed connection, for logs and health."""
    if isinstance(e, asyncio.TimeoutError):
        return "timeout"
    if isinstance(e, EOFError):
        return "broker closed the connection"
    if isinstance(e, OSError) and e.args and isinstance(e.args[0], int):
        return "OS error %d" % e.args[0]
    return str(e) or e.__class__.__name__
