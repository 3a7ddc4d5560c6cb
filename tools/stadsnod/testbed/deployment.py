"""A simulated deployment: a throwaway city PKI (the real hierarchy, registry and bundles),
the broker configured by `stadsnod broker config`, an SNTP server, the platform subscriber and N
simulated nodes. Shared by `stadsnod demo` and `stadsnod bench`."""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from pathlib import Path

from .broker import Broker
from .demo_city import DemoCity
from .platform import Platform
from .simnode import SimNode, provision_sim_node
from .sntp import SNTPServer
from .worlds import DEFAULT_HEAP, kit_sensors, sim_world


class Deployment:
    def __init__(self, workdir: Path, port: int | None = None) -> None:
        shutil.rmtree(workdir, ignore_errors=True)
        self.dir = workdir
        self.nodes: list[SimNode] = []
        self._stack = ExitStack()
        self.pki = DemoCity.create(workdir / "pki")
        self.broker = self._stack.enter_context(Broker(workdir / "broker", self.pki, port=port))
        self.sntp = self._stack.enter_context(SNTPServer())
        self.platform = Platform(self.broker).start()
        self._stack.callback(self.platform.stop)

    def add_node(self, device_id: str, heap: str = DEFAULT_HEAP, kit: str = "weather",
                 scene: dict | None = None, **cfg) -> SimNode:
        """A node with the sensors of `kit` (worlds.KITS), fakes at their real timing; `scene`
        sets what a microphone hears (fake_mic.Device options)."""
        if "sensors" not in cfg:
            cfg["sensors"] = kit_sensors(kit, cfg.pop("every_s", 2))
        node = provision_sim_node(self.dir / "nodes" / device_id, device_id, self.pki,
                                  self.broker.port, self.sntp.port,
                                  world=sim_world(len(self.nodes), kit=kit, scene=scene),
                                  heap=heap, **cfg)
        self.nodes.append(node)
        return node

    def close(self) -> None:
        for n in self.nodes:
            n.stop()
        self._stack.close()

    def __enter__(self) -> Deployment:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
