# The node's session with the broker: where its messages go, the MQTT client over TLS with the
# node's identity, its last will, reconnects with backoff (_stay_connected), and a Wi-Fi
# watch that drops a session the radio has lost before the keepalive would notice.
import asyncio
import gc
import sys

from mqtt import MQTTClient, MQTTException, why
from net import NetError


class Link:
    def __init__(self, cfg, net, log, on_message, on_connect, wake=None):
        self.cfg = cfg
        # everything under <root>/<device id>/ (profile/wire-contract.md), which is also all
        # the broker's ACL lets the node write
        prefix = "%s/%s/" % (cfg["topic_root"], cfg["device_id"])
        self.data_topic = prefix + "data"
        self.status_topic = prefix + "status"
        self.health_topic = prefix + "health"
        self.cmd_topic = prefix + "cmd"
        self.result_topic = prefix + "cmd/result"
        self.update_topic = prefix + "update/get"  # to the update service
        self.data_in_topic = prefix + "update/data"  # its answers
        self.net = net
        self.log = log
        self._on_message = on_message
        self._then = on_connect  # the node's part of a (re)connect
        self._wake = wake  # set when a message arrives: the node hands it on at once
        self.mqtt = None
        self.problem = None  # why TLS could not be set up, for health
        self.connects = 0
        b = cfg["broker"]
        # the broker's endpoints: host:port, then any more of its cluster ("host:port",
        # checked by config.py), tried in turn
        self.endpoints = [(b["host"], b["port"])]
        for e in b.get("endpoints") or ():
            host, port = e.split(":")
            self.endpoints.append((host, int(port)))
        self.at = 0  # the endpoint in use

    @property
    def connected(self):
        return self.mqtt is not None and self.mqtt.connected

    def try_tls(self):
        import tls_identity  # needed once per TLS setup; its RAM goes back afterwards

        b = self.cfg["broker"]
        try:
            ctx = tls_identity.tls_context(self.cfg)
            c = MQTTClient(self.cfg["device_id"], b["host"], b["port"], ssl=ctx,
                           server_hostname=b["server_hostname"], keepalive=b["keepalive_s"],
                           log=self.log)
        except (tls_identity.TLSSetupError, MemoryError) as e:
            self.problem = str(e) or "out of memory setting up TLS"
            self.log.error("tls", "%s; retrying in 30 s" % self.problem)
            return
        finally:
            del sys.modules["tls_identity"]
        c.set_last_will(self.status_topic, "offline", retain=True, qos=1)
        c.set_callback(self._on_message)
        c.wake = self._wake
        self.mqtt = c
        self.problem = None

    async def run(self):
        while self.mqtt is None:
            await asyncio.sleep_ms(30000)
            gc.collect()
            self.try_tls()
        from backoff import Backoff

        b = self.cfg["broker"]
        await self._stay_connected(Backoff(stable_ms=b["backoff_stable_s"] * 1000,
                                           spread_ms=int(b["reconnect_spread_s"] * 1000)))

    async def _stay_connected(self, backoff):
        """Forever: a session, then the pause before the next."""
        while True:
            await asyncio.sleep_ms(await self._session(backoff))

    async def _session(self, backoff):
        """Brings the radio up, connects, runs the node's part and waits for the loss; returns
        the backoff pause. A coroutine of its own, so that what it caught and logged goes with
        it: a MicroPython frame keeps its popped stack slots, and a loop that never returns
        would hold its last exception and strings for good (the soak's heap step)."""
        c = self.mqtt
        try:
            await self._net_up()
            await c.connect()
            backoff.connected()
            await self._connected()
            await c.wait_closed()
            self.log.warning("mqtt", "connection lost: %s" % c.reason)
        except (OSError, MQTTException, asyncio.TimeoutError, MemoryError, EOFError) as e:
            c.reason = why(e)
            self.log.warning("mqtt", c.reason)
            await c.abort(c.reason)
        if len(self.endpoints) > 1:  # the next one of the cluster, with the same backoff
            self.at = (self.at + 1) % len(self.endpoints)
            c.server, c.port = self.endpoints[self.at]
        delay = backoff.next_ms()
        self.log.info("mqtt", "retrying in %d ms" % delay)
        return delay

    async def watch_net(self):
        # A TCP session does not notice a dead radio for a keepalive or more; the station
        # interface does. Drop the session at once so the link task reconnects.
        while True:
            await asyncio.sleep_ms(500)
            if self.connected and not self.net.isconnected():
                self.log.warning("net", "Wi-Fi lost")
                await self.mqtt.abort("Wi-Fi lost")

    async def _net_up(self):
        try:
            await self.net.up()
        except NetError as e:
            raise OSError(str(e))

    async def _connected(self):
        self.connects += 1
        self.log.info("mqtt", "connected to %s:%d" % self.endpoints[self.at])
        await self.mqtt.publish(self.status_topic, "online", retain=True, qos=1)
        await self.mqtt.subscribe(self.cmd_topic, qos=1)
        await self.mqtt.subscribe(self.data_in_topic, qos=0)
        await self._then()

    async def stop(self):
        """Ends the session (DISCONNECT when connected) and closes the socket either way."""
        if self.mqtt is not None:
            await self.mqtt.disconnect()
            self.mqtt = None
