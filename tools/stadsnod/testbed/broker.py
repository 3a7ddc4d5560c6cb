"""The embedded default broker: mosquitto on loopback as a child process, configured exactly as
the city's (cityit/broker_config.py)."""

from __future__ import annotations

import getpass
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from provisioning import pki

from ..cityit.broker_config import BROKER_HOSTNAME, PLATFORM_USER, write_config
from ..cityit.city import City
from ..core.paths import ToolError, mosquitto


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """n distinct free loopback ports. Held open together while chosen: one at a time, the
    kernel may hand out a port it just gave back (two cluster nodes once got the same one)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_listening(port: int, proc: subprocess.Popen, what: str, timeout: float = 10) -> None:
    """Until `proc` accepts TCP connections on loopback `port`; ToolError when it exits or
    does not within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ToolError(f"{what} exited at start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise ToolError(f"{what} did not listen on port {port} within {timeout:.0f} s")


@contextmanager
def plain_mosquitto(workdir: Path) -> Iterator[int]:
    """A mosquitto on a plain TCP listener on loopback, anonymous, without persistence (for
    the benches' peer client and the fuzzer's packet capture, not for nodes); yields its
    port."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = workdir / "plain-mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen([mosquitto(), "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, proc, "mosquitto (plain TCP)")
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@dataclass
class DemoPKI:
    """A throwaway CA with the broker's certificate, written under `dir`."""

    dir: Path
    ca: pki.Issued = field(init=False)

    def __post_init__(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = pki.make_ca()
        self.ca.write_pem(self.ca_pem, self.dir / "ca.key")
        pki.issue_server(self.ca, BROKER_HOSTNAME).write_pem(self.dir / "server.pem",
                                                             self.dir / "server.key")
        self.platform = pki.issue_client(self.ca, PLATFORM_USER)
        self.platform.write_pem(self.dir / "platform.pem", self.dir / "platform.key")

    @property
    def ca_pem(self) -> Path:
        return self.dir / "ca.pem"

    def device(self, device_id: str, certs_dir: Path) -> None:
        """Issue a device certificate and write what a node stores: DER files in certs/."""
        certs_dir.mkdir(parents=True, exist_ok=True)
        (certs_dir / "ca.der").write_bytes(self.ca.cert.public_bytes(pki.DER))
        pki.issue_client(self.ca, device_id).write_der(certs_dir / "device.der",
                                                       certs_dir / "device.key.der")


class Broker:
    """mosquitto as a child process. Use as a context manager; it never outlives its owner."""

    def __init__(self, workdir: Path, pki_: DemoPKI | City, root: str = "stadsnod",
                 port: int | None = None, bind: str = "127.0.0.1") -> None:
        self.dir = workdir
        self.bind = bind  # the listener's address (tests stay inside 127.0.0.0/8)
        self.pki = pki_
        self.root = root
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.log = workdir / "mosquitto.log"

    def start(self) -> Broker:
        self.dir.mkdir(parents=True, exist_ok=True)
        # Started as root, mosquitto would drop to user 'mosquitto' and lose our 0600 keys.
        if isinstance(self.pki, City):  # a city PKI: exactly `stadsnod broker config`
            conf = self.pki.broker_config(self.dir, self.port, getpass.getuser(), bind=self.bind)
        else:  # the one-CA demo PKI (kept for a broker that nodes must not trust)
            conf = write_config(self.dir, port=self.port, user=getpass.getuser(), root=self.root,
                                bind=self.bind,
                                ca=self.pki.ca_pem, cert=self.pki.dir / "server.pem",
                                key=self.pki.dir / "server.key")
        self.proc = subprocess.Popen([mosquitto(), "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        try:
            wait_listening(self.port, self.proc, "mosquitto")
        except ToolError as e:
            exited = self.proc.poll() is not None
            err = self.proc.stderr.read().decode() if exited and self.proc.stderr else ""
            self.stop()
            raise ToolError(f"{e}:\n{err}{self._log_tail()}") from None
        return self

    def _log_tail(self) -> str:
        try:
            return self.log.read_text()[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
