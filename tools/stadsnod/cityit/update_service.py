"""The city's update service: answers nodes' requests for release pieces over MQTT, with the
platform's identity (the broker's ACL lets it write <root>/<id>/update/data and nothing else
of a node's). Requests and answers are firmware/updates/updater.py's:

    <root>/<id>/update/get   {"r": release, "f": "timestamp" | "manifest" | "index" | file,
                              "c": chunk,
                              "b": board}
    <root>/<id>/update/data  b"SNU1" | release (u32) | name length (u8) | name | chunk (u32) |
                             bytes (a 1024-byte chunk of a file, the manifest or the
                             index; the
                             timestamp whole; a shorter piece is the last)

The timestamp is re-signed by the online timestamp key once a minute per target (and when a
newer release is signed) and lives `ttl_s`; `freeze()` stops re-signing (what a stalled or
captured service does), so the nodes' freeze protection can be seen at work."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt

from provisioning.release import CHUNK, newest, timestamp
from provisioning.trust import TrustStore


def board_target(board: str) -> str:
    """The build target a board runs (the simulated board: the VM's own build)."""
    from ..core.boards import load_board
    from ..core.paths import build_target

    spec, _ = load_board(board)
    return build_target(spec["target"])


@dataclass
class UpdateService:
    host: str
    port: int
    ca: Path
    cert: Path
    key: Path
    topic_root: str
    releases: Path
    store: TrustStore
    ttl_s: float = 86400
    target_of: Callable[[str], str] = board_target
    requests: int = 0
    bytes_sent: int = 0
    frozen: bool = False
    _stamps: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> UpdateService:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"update-service-{id(self):x}")
        self.client.tls_set(ca_certs=str(self.ca), certfile=str(self.cert), keyfile=str(self.key))
        self.client.reconnect_delay_set(1, 2)
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_connect = lambda c, *a: c.subscribe(f"{self.topic_root}/+/update/get", 1)
        self.client.connect(self.host, self.port)
        self.client.loop_start()
        if not subscribed.wait(10):
            raise TimeoutError("the update service's subscription was not acknowledged")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def freeze(self, frozen: bool = True) -> None:
        self.frozen = frozen

    def _timestamp(self, target: str) -> bytes:
        """The current statement for `target`: re-signed once a minute, and at once when a
        newer release has been signed."""
        with self._lock:
            made, version, data = self._stamps.get(target, (0.0, None, b""))
            latest = newest(self.releases, target)
            if not self.frozen and (time.time() - made > 60 or latest != version):
                data = timestamp(self.store, self.releases, target, self.ttl_s)
                self._stamps[target] = (time.time(), latest, data)
            return data

    def _piece(self, target: str, release: int, name: str, chunk: int) -> bytes | None:
        if name == "timestamp":
            return self._timestamp(target)
        folder = self.releases / target / str(release)
        if name == "manifest":
            path = folder / "manifest.sns"
        elif name == "index":
            path = folder / "index.txt"
        elif "/" in name or name.startswith("."):
            return None
        elif name in ("firmware.bin", "firmware.pieces"):
            path = folder / "firmware" / name
        else:
            path = folder / "files" / name
        try:
            with open(path, "rb") as f:
                f.seek(chunk * CHUNK)
                return f.read(CHUNK)
        except OSError:
            return None

    def _on_message(self, _c, _u, m) -> None:
        try:
            device = m.topic.split("/")[-3]
            req = json.loads(m.payload)
            release, name, chunk = int(req["r"]), str(req["f"]), int(req["c"])
            data = self._piece(self.target_of(str(req["b"])), release, name, chunk)
        except Exception:  # a malformed request, an unknown board: nothing to answer
            return
        if data is None:
            return
        head = (b"SNU1" + release.to_bytes(4, "big") + bytes([len(name.encode())])
                + name.encode() + chunk.to_bytes(4, "big"))
        self.requests += 1
        self.bytes_sent += len(data)
        self.client.publish(f"{self.topic_root}/{device}/update/data", head + data, qos=0)
