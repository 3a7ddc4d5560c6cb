"""Shards of one fleet simulation against one broker (`stadsnod fleet sim --shard I/N --join
DIR`): the shard that runs the broker writes fleet.json in its run folder (the broker's port,
the city PKI's folder, the broker's log); a joining shard reads it, issues its nodes'
identities from the same PKI, runs its own SNTP server and platform consumer, and tells the
owner when it has counted its readings, so the broker outlives every shard that uses it. On
several machines the run folder is shared (NFS, say) and the broker's listener is bound to an
address the other machines reach (`stadsnod broker config --bind`)."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from .demo_city import DemoCity
from .platform import Platform
from .simnode import SimNode, provision_sim_node
from .sntp import SNTPServer
from .worlds import sim_world


class _JoinedBroker:
    """The broker another shard runs (its port, the city's PKI, its log)."""

    def __init__(self, port: int, pki: DemoCity, log: Path) -> None:
        self.port, self.pki, self.log = port, pki, log


class JoinedDeployment:
    """Another shard's broker and city PKI (its run folder's fleet.json), with this shard's
    own SNTP server, platform consumer and nodes: what Deployment offers a shard."""

    def __init__(self, workdir: Path, owner: Path, shard: int) -> None:
        shutil.rmtree(workdir, ignore_errors=True)
        info = json.loads((owner / "fleet.json").read_text())
        self.dir = workdir
        self.nodes: list[SimNode] = []
        self.pki = DemoCity(Path(info["pki"]))
        self.broker = _JoinedBroker(info["broker_port"], self.pki, Path(info["broker_log"]))
        self.sntp = SNTPServer().__enter__()
        self.platform = Platform(self.broker, client_id=f"platform-shard-{shard}").start()

    def add_node(self, device_id: str, kit: str = "weather", **cfg) -> SimNode:
        node = provision_sim_node(self.dir / "nodes" / device_id, device_id, self.pki,
                                  self.broker.port, self.sntp.port,
                                  world=sim_world(len(self.nodes), kit=kit), **cfg)
        self.nodes.append(node)
        return node

    def __enter__(self) -> JoinedDeployment:
        return self

    def __exit__(self, *exc) -> None:
        for n in self.nodes:
            n.stop()
        self.platform.stop()
        self.sntp.__exit__(None, None, None)


def announce(workdir: Path, dep) -> None:
    """fleet.json: what another shard needs to join this one's broker."""
    (workdir / "fleet.json").write_text(json.dumps({
        "broker_port": dep.broker.port, "pki": str(dep.pki.dir.resolve()),
        "broker_log": str(dep.broker.log.resolve())}))


def wait_for_joined(workdir: Path, limit_s: float = 600) -> None:
    """The broker stays up until every shard that joined it has counted its readings."""
    deadline = time.time() + limit_s
    while time.time() < deadline:
        started = {p.name.split(".")[0] for p in workdir.glob("joined-*.started")}
        done = {p.name.split(".")[0] for p in workdir.glob("joined-*.done")}
        if started <= done:
            return
        time.sleep(1)
    print("fleet: a joined shard did not finish within 10 min; stopping the broker anyway",
          file=sys.stderr, flush=True)


