"""The checker's eyes and hands on the wire: a TLS-terminating proxy on the lab's broker port.
It authenticates the device's certificate itself (the lab's CA, CN = device id), connects on
to mosquitto as that device (the lab holds its identity), and reads every MQTT packet both
ways: CONNECT (client id, will, keepalive), PUBLISH (topic, QoS, retain, payload), SUBSCRIBE,
CONNACK. Between phases the checker changes what it does to the next connection: refuse the
CONNECT, kick after CONNACK, or present a broker certificate a device must refuse (another CA,
expired, another host name, TLS 1.0/1.1 only)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from . import mqttwire as w
from .lab import LAB_HOSTNAME

TLS_MODES = ("good", "foreign", "expired", "wrong-host", "old")


def _server_context(lab_dir: Path, mode: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if mode == "good":
        ctx.load_cert_chain(lab_dir / "broker" / "broker.pem", lab_dir / "broker" / "broker.key")
        ctx.load_verify_locations(lab_dir / "broker" / "ca-chain.pem")
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx
    if mode == "old":
        ctx.load_cert_chain(lab_dir / "broker" / "broker.pem", lab_dir / "broker" / "broker.key")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        return ctx
    ctx.load_cert_chain(lab_dir / "faults" / f"{mode}.pem", lab_dir / "faults" / f"{mode}.key")
    return ctx


class Observer:
    def __init__(self, lab_dir: Path, lab: dict, backend_port: int) -> None:
        self.lab_dir, self.lab, self.backend_port = lab_dir, lab, backend_port
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.mode = "pass"  # pass | refuse | kick: what the next CONNECT meets
        self.tls = "good"
        self.tls_queue: list[str] = []  # modes for the next handshakes, one each, then `tls`
        self._contexts = {m: _server_context(lab_dir, m) for m in TLS_MODES}
        self._stop = threading.Event()
        self._open: list[socket.socket] = []
        self.sock = socket.create_server((lab["host"], lab["port"]), reuse_port=False)
        self.sock.settimeout(0.2)

    # -- the record
    def record(self, kind: str, device: str | None = None, **fields: Any) -> None:
        with self.lock:
            self.events.append({"t": time.time(), "kind": kind, "device": device, **fields})

    def of(self, kind: str, device: str | None = None, since: float = 0) -> list[dict]:
        with self.lock:
            return [e for e in self.events if e["kind"] == kind and e["t"] >= since
                    and (device is None or e["device"] == device)]

    # -- running
    def start(self) -> Observer:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.sock.close()
        self.drop_all()

    def drop_all(self) -> None:
        """Closes every connection (as a broker restart would)."""
        with self.lock:
            socks, self._open = self._open, []
        for s in socks:
            _hang_up(s)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            # an attempt starts here, before the TLS handshake, whose length under load
            # would otherwise count as the device's wait (the lab port serves one device)
            self.record("accept", None, peer=addr[0])
            threading.Thread(target=self._serve, args=(conn, addr), daemon=True).start()

    def _serve(self, conn: socket.socket, addr) -> None:
        with self.lock:
            tls_mode = self.tls_queue.pop(0) if self.tls_queue else self.tls
        conn.settimeout(15)
        try:
            dev = self._contexts[tls_mode].wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.record("handshake-refused", None, tls=tls_mode, peer=addr[0], error=str(e))
            conn.close()
            return
        cn = None
        cert = dev.getpeercert() if tls_mode == "good" else None
        for rdn in (cert or {}).get("subject", ()):
            for key, value in rdn:  # type: ignore[str-unpack]  # typeshed: tuples of pairs
                if key == "commonName":
                    cn = value
        self.record("tls", cn, tls=tls_mode, version=dev.version(), peer=addr[0])
        if tls_mode != "good":
            self._bad_broker(dev, tls_mode)
            return
        self._relay(dev, cn)

    def _bad_broker(self, dev: ssl.SSLSocket, tls_mode: str) -> None:
        """A device that goes on to send CONNECT has accepted a broker it must refuse."""
        try:
            dev.settimeout(5)
            data = dev.recv(4096)
            if data and data[0] >> 4 == w.CONNECT:
                p = w.Splitter().feed(data)
                who = w.read_connect(p[0])["client_id"] if p else None
                self.record("accepted-bad-broker", who, tls=tls_mode)
            elif not data:  # it checked after the handshake, and left
                self.record("handshake-refused", None, tls=tls_mode,
                            error="closed after the handshake without sending CONNECT")
        except (OSError, w.WireError):
            pass
        finally:
            dev.close()

    def _backend(self, cn: str) -> ssl.SSLSocket:
        ctx = ssl.create_default_context(cafile=str(self.lab_dir / "broker" / "ca-chain.pem"))
        d = self.lab_dir / "devices" / cn
        ctx.load_cert_chain(d / "client.crt", d / "client.key")
        raw = socket.create_connection(("127.0.0.1", self.backend_port), timeout=10)
        return ctx.wrap_socket(raw, server_hostname=LAB_HOSTNAME)

    def _relay(self, dev: ssl.SSLSocket, cn: str | None) -> None:
        if cn is None or not (self.lab_dir / "devices" / cn).is_dir():
            self.record("unknown-device", cn)
            dev.close()
            return
        mode = self.mode
        try:
            broker = self._backend(cn)
        except OSError as e:  # the broker is away (a restart under way): as a broker would be
            self.record("backend-down", cn, error=str(e))
            dev.close()
            return
        with self.lock:
            self._open += [dev, broker]
        dev.settimeout(None)
        broker.settimeout(None)
        state = {"level": 4}
        threading.Thread(target=self._pump, args=(broker, dev, cn, "down", mode, state),
                         daemon=True).start()
        self._pump(dev, broker, cn, "up", mode, state)

    def _pump(self, src, dst, cn: str, way: str, mode: str, state: dict) -> None:
        split = w.Splitter()
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                for p in split.feed(data):
                    if not self._observe(p, cn, way, mode, state, src, dst):
                        raise ConnectionAbortedError
                dst.sendall(data)
        except (OSError, w.WireError, ConnectionAbortedError):
            pass
        finally:
            for s in (src, dst):
                _hang_up(s)
            if way == "up":
                self.record("closed", cn)

    def _observe(self, p: w.Packet, cn: str, way: str, mode: str, state: dict, src,
                 dst) -> bool:
        """Records the packet; False when the checker ends the connection here."""
        if way == "up" and p.kind == w.CONNECT:
            c = w.read_connect(p)
            state["level"] = c["level"]
            self.record("connect", cn, **c)
            if mode == "refuse":
                src.sendall(w.connack(3, c["level"]))
                self.record("refused", cn)
                return False
        elif way == "up" and p.kind == w.PUBLISH:
            self.record("publish", cn, **w.read_publish(p, state["level"]))
        elif way == "up" and p.kind == w.SUBSCRIBE:
            self.record("subscribe", cn, topics=w.read_subscribe(p, state["level"]))
        elif way == "up" and p.kind == w.DISCONNECT:
            self.record("disconnect", cn)
        elif way == "down" and p.kind == w.CONNACK:
            self.record("connack", cn, code=p.body[1] if len(p.body) > 1 else None)
            if mode == "kick":
                dst.sendall(bytes([p.kind << 4 | p.flags, len(p.body)]) + p.body)
                time.sleep(0.5)  # the CONNACK is read before the connection goes
                self.record("kicked", cn)
                return False
        return True


def _hang_up(s: socket.socket) -> None:
    """Ends a relayed connection at once. close() alone does not: the other relay thread,
    blocked in recv() on the same socket, keeps it open (no FIN) until the device next sends,
    and the device would see its kick seconds late. shutdown() wakes that thread."""
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass
