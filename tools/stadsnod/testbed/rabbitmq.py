"""RabbitMQ with its MQTT plugin (Debian's rabbitmq-server) as a child process on loopback,
configured by `stadsnod broker config --kind rabbitmq` (cityit/rabbitmq_config.py): the test
bed's second broker. Its Erlang node, cookie, database and logs live in its folder; epmd is
bound to loopback."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from ..cityit.city import City
from ..core.paths import ToolError
from .broker import free_port, free_ports, wait_listening

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # not /usr/sbin's wrapper, which su's


def rabbitmq_installed() -> bool:
    return Path(SERVER).exists()


class RabbitBroker:
    """Use as a context manager, like broker.Broker (same `port`, `start`, `stop`)."""

    def __init__(self, workdir: Path, city: City, port: int | None = None,
                 cluster: list[str] | None = None, name: str | None = None,
                 cookie: str = "stadsnod-test-bed-cookie", dist_port: int | None = None) -> None:
        self.dir = workdir
        self.city = city
        self.cluster = cluster  # the Erlang node names of its cluster, itself included
        self.cookie = cookie
        self.pki = city  # as broker.Broker's: the platform takes its identity from it
        self.port = port or free_port()
        self.dist_port = dist_port or next(p for p in free_ports(2) if p != self.port)
        self.node = name or f"stadsnod-{self.port}@localhost"
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
                    RABBITMQ_DIST_PORT=str(self.dist_port), ERL_EPMD_ADDRESS="127.0.0.1",
                    # the nodes' clustering port on loopback too
                    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface "
                                                        "{127,0,0,1}")

    def launch(self) -> None:
        """Starts the node without waiting for it (a cluster's nodes start together)."""
        if not rabbitmq_installed():
            raise ToolError("RabbitMQ is not installed: run `make rabbitmq` (Debian's "
                            "rabbitmq-server)")
        for sub in ("mnesia", "log"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        cookie = self.dir / ".erlang.cookie"  # the same on every node of a cluster
        if not cookie.exists():
            cookie.write_text(self.cookie)
            cookie.chmod(0o400)
        self.city.rabbitmq_config(self.dir, self.port, cluster=self.cluster)
        self.proc = subprocess.Popen([SERVER], env=self.env(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)

    def start(self) -> RabbitBroker:
        self.launch()
        return self.wait()

    def wait(self, timeout: float = 60) -> RabbitBroker:
        assert self.proc is not None
        try:
            wait_listening(self.port, self.proc, "RabbitMQ", timeout)
        except ToolError as e:
            self.stop()
            raise ToolError(f"{e}; see {self.log}") from None
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def ctl(self, *args: str) -> str:
        """rabbitmqctl against this node; its output, ToolError when it fails."""
        r = subprocess.run([str(Path(SERVER).parent / "rabbitmqctl"), "-n", self.node, *args],
                           env=self.env(), capture_output=True, text=True, timeout=60)
        if r.returncode:
            raise ToolError(f"rabbitmqctl {' '.join(args)}: {r.stderr or r.stdout}")
        return r.stdout

    def apply_revocations(self) -> list[str]:
        """What city IT runs after `stadsnod device revoke` on a RabbitMQ broker: the
        configuration written again (revoked devices are no users in it) and every revoked
        device's user deleted, which also closes its connections. Returns those deleted."""
        self.city.rabbitmq_config(self.dir, self.port, cluster=self.cluster)
        users = set(self.ctl("list_users", "--quiet", "--no-table-headers").split())
        gone = [d["id"] for d in self.city.registry.devices()
                if d["state"] in ("revoked", "retired") and d["id"] in users]
        for device in gone:
            self.ctl("delete_user", device)
        return gone

    def kill(self) -> None:
        """The node dies at once (SIGKILL to its Erlang VM and everything it started)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def wipe(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RabbitBroker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class RabbitCluster:
    """Three RabbitMQ nodes on loopback that form one cluster (classic peer discovery), each
    with its own MQTT listener: the endpoints a node's broker.endpoints lists."""

    def __init__(self, workdir: Path, city: City, size: int = 3) -> None:
        ports = free_ports(2 * size)  # each node's MQTT and clustering ports, all distinct
        names = [f"stadsnod-{p}@localhost" for p in ports[:size]]
        self.nodes = [RabbitBroker(workdir / f"node-{i + 1}", city, port=ports[i],
                                   cluster=names, name=names[i], dist_port=ports[size + i])
                      for i in range(size)]
        self.pki = city

    @property
    def ports(self) -> list[int]:
        return [n.port for n in self.nodes]

    def start(self) -> RabbitCluster:
        try:
            for n in self.nodes:
                n.launch()
            for n in self.nodes:
                n.wait(120)
        except BaseException:
            self.stop()  # the nodes that did start: no Erlang VM outlives a failed start
            raise
        return self

    def stop(self) -> None:
        for n in self.nodes:
            n.stop()

    def __enter__(self) -> RabbitCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
