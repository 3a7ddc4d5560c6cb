"""The city platform's side of the broker: a paho-mqtt subscriber with its own client
certificate, collecting what nodes publish."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import paho.mqtt.client as mqtt


class _PKI(Protocol):
    @property
    def dir(self) -> Path: ...

    @property
    def ca_pem(self) -> Path: ...


class AnyBroker(Protocol):
    """mosquitto (broker.Broker) or RabbitMQ (rabbitmq.RabbitBroker) on loopback."""

    @property
    def pki(self) -> _PKI: ...

    @property
    def port(self) -> int: ...


@dataclass
class Message:
    topic: str
    payload: bytes
    retain: bool
    at: float


@dataclass
class Tally:
    readings: int  # distinct sequence numbers seen
    top: int  # the highest
    lost: int  # sequence numbers missing below the end
    duplicates: int  # deliveries beyond the first, up to the end
    differing: int  # sequence numbers delivered as different readings (must be 0)


@dataclass
class Platform:
    broker: AnyBroker
    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # more ports of the same broker cluster on loopback: a lost connection goes on at the next
    failover: list[int] = field(default_factory=list)
    client_id: str = "platform"  # one per consumer (a fleet shard's own, say)
    # (host, port) of every endpoint, the first tried first: a cluster this run did not start
    endpoints: list[tuple[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        pki = self.broker.pki
        # A persistent session: what nodes publish while the platform (or the broker) is down
        # waits for it, as the city's data platform would want.
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                                  clean_session=False)
        self.client.tls_set(ca_certs=str(pki.ca_pem), certfile=str(pki.dir / "platform.pem"),
                            keyfile=str(pki.dir / "platform.key"))
        self.client.reconnect_delay_set(1, 2)  # back quickly after a broker restart
        self.client.on_message = self._on_message
        self._subscribed = threading.Event()
        self._by: dict[tuple[str, str], list[Message]] = {}  # (device, suffix) -> messages
        # device -> (data packs resolved so far, seq -> deliveries)
        self._readings: dict[str, tuple[int, dict[int, list]]] = {}
        self._readings_lock = threading.Lock()
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        if not self.endpoints:
            self.endpoints = [("127.0.0.1", p) for p in (self.broker.port, *self.failover)]
        self.at = 0  # the endpoint in use
        if len(self.endpoints) > 1:
            self.client.on_disconnect = self._next_endpoint

    def _next_endpoint(self, *_args) -> None:
        self.at = (self.at + 1) % len(self.endpoints)
        self.client.connect_async(*self.endpoints[self.at])

    def _on_message(self, _c, _u, m) -> None:
        msg = Message(m.topic, m.payload, m.retain, time.time())
        parts = m.topic.split("/", 2)
        with self.lock:
            self.messages.append(msg)
            if len(parts) == 3:  # <root>/<device>/<suffix>
                self._by.setdefault((parts[1], parts[2]), []).append(msg)

    def start(self, topic: str = "stadsnod/#") -> Platform:
        # The broker's certificate names BROKER_HOSTNAME; we reach it on 127.0.0.1 (or the
        # address an endpoint gives), which the certificate also lists as an IP SAN, so
        # verification stays on.
        # Subscribed once the broker has accepted the connection (and again after each
        # reconnect): RabbitMQ sometimes never answered a SUBSCRIBE sent behind the CONNECT
        # before its CONNACK, and the tests then failed waiting for the SUBACK.
        def subscribe(client, _userdata, _flags, reason, _props) -> None:
            if not reason.is_failure:
                client.subscribe(topic, qos=1)

        self.client.on_connect = subscribe
        self.client.connect(*self.endpoints[0])
        self.client.loop_start()
        if not self._subscribed.wait(30):  # a bound on a hang, not on speed
            raise TimeoutError("platform subscription not acknowledged in 30 s: is the broker "
                               "up and does its ACL let the platform read stadsnod/#?")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def of(self, topic_suffix: str, device_id: str | None = None) -> list[Message]:
        with self.lock:
            if device_id is not None:  # a thousand nodes' messages are not scanned per node
                return list(self._by.get((device_id, topic_suffix), ()))
            # <root>/<device>/<suffix> exactly: "data" is not "update/data"
            return [m for m in self.messages if m.topic.count("/") >= 2
                    and m.topic.split("/", 2)[2] == topic_suffix
                    and (device_id is None or m.topic.split("/")[1] == device_id)]

    def readings(self, device_id: str) -> dict[int, list[tuple[float | None, dict]]]:
        """seq -> every delivery of that reading: (Unix time or None, {name: value}). In a
        data pack each reading starts with its `seq` record (wire contract)."""
        with self._readings_lock:
            return {seq: list(v) for seq, v in self._resolve_new(device_id).items()}

    def _resolve_new(self, device_id: str) -> dict[int, list]:
        from ..core.senml import resolve

        packs = self.of("data", device_id)
        done, out = self._readings.get(device_id, (0, {}))
        for m in packs[done:]:  # resolved once each: a fleet's count asks every second
            current: dict = {}
            for r in resolve(m.payload, now=0):
                name = r["n"].rsplit(":", 1)[1]
                if name == "seq":
                    current = {}
                    # to the ms a node stamps in: bt + t in doubles differs in the last bit
                    # between two packs that carry the same reading under different bases
                    out.setdefault(int(r["value"]), []).append(
                        (round(r["t"], 3) if r["t"] >= 2**28 else None, current))
                else:
                    current[name] = r["value"]
        self._readings[device_id] = (len(packs), out)
        return out

    def tally(self, device_id: str, upto: int | None = None) -> Tally:
        """What arrived of a node's readings 1..upto (default: 1..its highest seq)."""
        seen = self.readings(device_id)
        top = max(seen or [0])
        end = upto if upto is not None else top
        return Tally(readings=len(seen), top=top,
                     lost=sum(1 for seq in range(1, end + 1) if seq not in seen),
                     duplicates=sum(len(v) - 1 for k, v in seen.items() if k <= end),
                     differing=sum(1 for v in seen.values() if any(d != v[0] for d in v)))

    def clock_errors_ms(self, device_id: str) -> list[float]:
        """For each health pack of the node: the platform's receive time minus the pack's bt,
        in ms (a health pack is stamped as it is sent: this is the node's clock error plus the
        delivery time). The platform's clock is the SNTP server's, both on this host."""
        import json

        out = []
        for m in self.of("health", device_id):
            bt = json.loads(m.payload)[0].get("bt")
            if bt is not None:
                out.append((m.at - bt) * 1000)
        return out

    def wait_for(self, pred, timeout: float = 20) -> list[Message]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                hits = [m for m in self.messages if pred(m)]
            if hits:
                return hits
            time.sleep(0.05)
        raise TimeoutError("expected message did not arrive")
