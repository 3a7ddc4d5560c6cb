"""RabbitMQ with its MQTT plugin (Debian's rabbitmq-server) as a child process on loopback,
configured by `stadsnod broker config --kind rabbitmq` (cityit/rabbitmq_config.py): the test
bed's second broker. Its Erlang node, cookie, database and logs live in its folder; epmd is
bound to loopback."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from ..cityit.city import City
from ..core.paths import ToolError
from .broker import free_port

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # not /usr/sbin's wrapper, which su's


def rabbitmq_installed() -> bool:
    return Path(SERVER).exists()


class RabbitBroker:
    """Use as a context manager, like broker.Broker (same `port`, `start`, `stop`)."""

    def __init__(self, workdir: Path, city: City, port: int | None = None) -> None:
        self.dir = workdir
        self.city = city
        self.pki = city  # as broker.Broker's: the platform takes its identity from it
        self.port = port or free_port()
        self.node = f"stadsnod-{self.port}@localhost"
        self.proc: subprocess.Popen | None = None
        self.log = workdir / "log" / f"{self.node}.log"

    def env(self) -> dict[str, str]:
        d = self.dir
        return dict(os.environ, HOME=str(d), RABBITMQ_CONFIG_FILE=str(d / "rabbitmq.conf"),
                    RABBITMQ_ADVANCED_CONFIG_FILE=str(d / "advanced.config"),
                    RABBITMQ_ENABLED_PLUGINS_FILE=str(d / "enabled_plugins"),
                    RABBITMQ_MNESIA_BASE=str(d / "mnesia"), RABBITMQ_LOG_BASE=str(d / "log"),
                    RABBITMQ_FEATURE_FLAGS_FILE=str(d / "mnesia" / "feature_flags"),
                    RABBITMQ_PLUGINS_EXPAND_DIR=str(d / "plugins-expand"),
                    RABBITMQ_NODENAME=self.node, RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
                    RABBITMQ_DIST_PORT=str(free_port()), ERL_EPMD_ADDRESS="127.0.0.1")

    def start(self) -> RabbitBroker:
        if not rabbitmq_installed():
            raise ToolError("RabbitMQ is not installed: run `make rabbitmq` (Debian's "
                            "rabbitmq-server)")
        for sub in ("mnesia", "log"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.city.rabbitmq_config(self.dir, self.port)
        self.proc = subprocess.Popen([SERVER], env=self.env(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ToolError(f"RabbitMQ exited at start; see {self.log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise ToolError(f"RabbitMQ did not listen on port {self.port} within 60 s; see {self.log}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def wipe(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RabbitBroker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
