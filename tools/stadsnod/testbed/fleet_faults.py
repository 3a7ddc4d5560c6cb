"""The fleet simulation's faults, on a schedule of simulated hours: what `stadsnod fleet sim`
does to its nodes and its broker while they run."""

from __future__ import annotations

import random
import signal
import sys
import time
from typing import TYPE_CHECKING

from .simnode import SimNode

if TYPE_CHECKING:
    from .fleet_sim import FleetPlan


def _progress(msg: str) -> None:
    print(f"fleet: {msg}", file=sys.stderr, flush=True)


class Schedule:
    """The faults, each at a fraction of the run: the broker restarts; 10 % of the nodes lose
    their network for 2 simulated hours; 5 % lose power and boot again 5 simulated minutes
    later; 3 nodes' sensor NACKs for a simulated hour."""

    def __init__(self, plan: FleetPlan, nodes: list[SimNode], dep) -> None:
        rng = random.Random(plan.seed)
        self.plan, self.nodes, self.dep = plan, nodes, dep
        n = len(nodes)
        offline = rng.sample(nodes, max(1, n // 10))
        cut = rng.sample(nodes, max(1, n // 20))
        faulty = rng.sample(nodes, min(3, n))
        h = plan.hours
        two_h = min(2.0, h * 0.2)
        self.actions: list[tuple[float, str, object]] = []
        if plan.owns_broker:  # the shard that runs the broker restarts it
            self.actions.append((h * 0.25, "broker restart", None))
        self.actions += [(h * 0.4, "network down", offline),
                         (h * 0.4 + two_h, "network up", offline)]
        for node in cut:
            at = h * rng.uniform(0.5, 0.8)
            self.actions += [(at, "power cut", node), (at + 5 / 60, "power on", node)]
        self.actions += [(h * 0.6, "sensor fault", faulty),
                         (h * 0.6 + min(1.0, h * 0.1), "sensor back", faulty)]
        self.actions.sort(key=lambda a: a[0])
        self.restarted_at: float | None = None
        self.events: list[str] = []

    def due(self, sim_h: float) -> None:
        while self.actions and self.actions[0][0] <= sim_h:
            at, what, target = self.actions.pop(0)
            self._do(what, target)
            count = len(target) if isinstance(target, list) else 1
            self.events.append(f"{at:5.2f} h  {what} ({count} node(s))" if target is not None
                               else f"{at:5.2f} h  {what}")
            _progress(self.events[-1])

    def _do(self, what: str, target) -> None:
        if what == "broker restart":
            self.dep.broker.stop()
            time.sleep(1)
            self.restarted_at = time.time()
            self.dep.broker.start()
        elif what in ("network down", "network up"):
            for n in target:
                n.set_wifi(what == "network up")
        elif what == "power cut":
            target.stop(signal.SIGKILL)
        elif what == "power on":
            target.start()
        elif what in ("sensor fault", "sensor back"):
            for n in target:
                n.set_fault("i2c0-0x76" if "bme280" in str(n.config["sensors"]) else
                            "i2c0-0x69", "nack" if what == "sensor fault" else None)
