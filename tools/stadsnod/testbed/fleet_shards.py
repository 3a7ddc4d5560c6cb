"""Shards of one fleet simulation against one broker (`stadsnod fleet sim --shard I/N --join
DIR`): the shard that runs the broker writes fleet.json in its run folder (the broker's port,
the city PKI's folder, the broker's log); a joining shard reads it, issues its nodes'
identities from the same PKI, runs its own SNTP server and platform consumer, and tells the
owner when it has counted its readings, so the broker outlives every shard that uses it. On
several machines the run folder is shared (NFS, say) and the broker's listener is bound to an
address the other machines reach (`stadsnod broker config --bind`). Or every shard joins a
broker cluster none of them started (`--broker host:port,... --pki DIR`)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

from provisioning.authority import PASSPHRASE_ENV

from ..cityit.city import CITY_FILE
from ..core.paths import ToolError
from .demo_city import DemoCity
from .platform import Platform
from .simnode import SimNode, provision_sim_node
from .sntp import SNTPServer
from .worlds import sim_world


class _GuestBroker:
    """A broker this shard did not start: its first endpoint, the city's PKI, its log (None
    where this machine cannot read it)."""

    def __init__(self, endpoint: tuple[str, int], pki: DemoCity, log: Path | None) -> None:
        self.host, self.port = endpoint
        self.pki, self.log = pki, log


class GuestDeployment:
    """A broker (or a cluster's endpoints) and a city PKI that this shard did not set up, with
    the shard's own SNTP server, platform consumer and nodes: what Deployment offers a shard.
    Nodes and consumers are spread over the endpoints, each node listing the others as its
    further endpoints (broker.endpoints), so a cluster node's death moves a share of them."""

    def __init__(self, workdir: Path, pki: DemoCity, endpoints: list[tuple[str, int]],
                 shard: int, log: Path | None = None) -> None:
        shutil.rmtree(workdir, ignore_errors=True)
        self.dir = workdir
        self.nodes: list[SimNode] = []
        self.pki = pki
        self.endpoints = endpoints
        self.shard = shard
        self.broker = _GuestBroker(endpoints[0], pki, log)
        self.sntp = SNTPServer().__enter__()
        self.platform = Platform(self.broker, client_id=f"platform-shard-{shard}",
                                 endpoints=_rotated(endpoints, shard - 1)).start()

    def add_node(self, device_id: str, kit: str = "weather", **cfg) -> SimNode:
        order = _rotated(self.endpoints, len(self.nodes) + self.shard - 1)
        folder = self.dir / "nodes" / device_id
        node = provision_sim_node(folder, device_id, self.pki, order[0][1], self.sntp.port,
                                  world=sim_world(len(self.nodes), kit=kit), certs=False, **cfg)
        self.pki.identity(device_id, node.dir / "certs")
        node.config["broker"].update(host=order[0][0], port=order[0][1],
                                     endpoints=[f"{h}:{p}" for h, p in order[1:]])
        self.nodes.append(node)
        return node

    def __enter__(self) -> GuestDeployment:
        return self

    def __exit__(self, *exc) -> None:
        for n in self.nodes:
            n.stop()
        self.platform.stop()
        self.sntp.__exit__(None, None, None)


def _rotated(items: list, k: int) -> list:
    k %= len(items)
    return items[k:] + items[:k]


def joined(workdir: Path, owner: Path, shard: int) -> GuestDeployment:
    """Another shard's broker and city PKI, from its run folder's fleet.json."""
    info = json.loads((owner / "fleet.json").read_text())
    return GuestDeployment(workdir, DemoCity(Path(info["pki"])),
                           [("127.0.0.1", info["broker_port"])], shard,
                           log=Path(info["broker_log"]))


def parse_endpoints(text: str) -> list[tuple[str, int]]:
    """`host:port[,host:port...]` (a broker, or the nodes of a cluster)."""
    out = []
    for part in text.split(","):
        host, sep, port = part.strip().rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ToolError(f"--broker {text!r}: want host:port[,host:port...], e.g. "
                            "127.0.0.1:8883,127.0.0.1:8884")
        out.append((host, int(port)))
    if len(out) > 5:  # a node's config lists its broker and up to 4 further endpoints
        raise ToolError(f"--broker lists {len(out)} endpoints; a node takes at most 5")
    return out


def city_pki(folder: Path) -> DemoCity:
    """The city PKI a shard issues its nodes' identities from: unlocked by
    $STADSNOD_PKI_PASSPHRASE, or the test bed's demo passphrase for a PKI a fleet run made."""
    secret = os.environ.get(PASSPHRASE_ENV)
    if not (folder / CITY_FILE).exists():
        raise ToolError(f"no city PKI in {folder}: 'stadsnod pki init --dir {folder}', or a "
                        "fleet run's own (its run folder's pki/)")
    return DemoCity(folder, secret.encode() if secret else None)


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


