"""`stadsnod fleet sim`: many simulated nodes -- each the real firmware in its own MicroPython
process, with its own config, identity, flash folder and TLS connection -- against the city
broker with the city PKI and ACL, for a number of simulated hours, with faults on a schedule.
The platform side counts every sequence number of every node: what was lost, what came twice
(and that a duplicate is the same reading).

What is scaled: time. A simulated hour lasts 3600/speed real seconds; a node publishes every
`interval_min` simulated minutes and samples its sensors once an interval (a deployed node
samples every few seconds and averages); warm-up times and health reports follow the same
clock. The keepalive (60 s), the backoff and the TLS handshakes run in real time. The
kits are the air-quality ones (the 48 kHz microphone and the 10 Hz occupancy loops cannot run
faster than real time). What is real: the firmware, TLS sessions, flash queue, broker, ACL and
the faults."""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..core.paths import ToolError
from ..core.senml import by_name
from .deployment import Deployment
from .fleet_faults import Schedule
from .fleet_shards import GuestDeployment, announce, city_pki, joined, wait_for_joined
from .simnode import SimNode
from .worlds import kit_sensors, sim_world

KITS = ("weather", "weather", "weather", "co2", "pm-sps30", "pm-sen5x-pms")
# a deployed node's default (config.py): after a broker restart the fleet comes back over 10 s
RECONNECT_SPREAD_S = 10


@dataclass
class FleetPlan:
    nodes: int = 1000
    hours: float = 24.0
    interval_min: float = 15.0
    speed: float = 120.0  # simulated seconds per real second: a day in 12 minutes
    shard: tuple[int, int] = (1, 1)  # this run's slice I of N: nodes i with i % N == I - 1
    seed: int = 1
    join: Path | None = None  # another shard's run folder: use its broker and city PKI
    # a broker or a cluster's endpoints this run did not start, and the city PKI it trusts
    broker: list[tuple[str, int]] | None = None
    pki: Path | None = None

    @property
    def owns_broker(self) -> bool:
        return self.join is None and self.broker is None

    def real_s(self, sim_hours: float) -> float:
        return sim_hours * 3600 / self.speed

    def ids(self) -> list[int]:
        i, n = self.shard
        return [k for k in range(self.nodes) if k % n == i - 1]

    def device_ids(self) -> list[str]:
        return [f"fleet-{k:05d}" for k in self.ids()]


@dataclass
class FleetResult:
    nodes: int
    sim_hours: float
    wall_s: float
    readings: int
    lost: int
    duplicates: int
    differing: int
    rss_bytes_per_node: float
    pss_bytes_per_node: float
    heap_bytes_per_node: float
    messages_per_s: float
    reconnects_per_s_peak: int | None  # None: not this run's broker, its log unread
    events: list[str] = field(default_factory=list)
    lost_by_node: dict[str, int] = field(default_factory=dict)
    differing_examples: list[str] = field(default_factory=list)
    # nodes with no reading delivered in the last 3 intervals: a node that never got back
    # leaves no gap, its readings are still on its flash, so "lost" alone cannot tell
    silent: list[str] = field(default_factory=list)


def _progress(msg: str) -> None:
    print(f"fleet: {msg}", file=sys.stderr, flush=True)


def _memory(node: SimNode) -> tuple[int, int]:
    """(RSS, PSS) of a node's process in bytes: RSS counts the MicroPython binary and the
    libraries every node shares in full; PSS shares them out, which is what a node costs."""
    try:
        pid = node.proc.pid  # type: ignore[union-attr]
        rss = pss = 0
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
        return rss, pss
    except (OSError, AttributeError, ValueError):
        return 0, 0


def _raise_file_limit(nodes: int) -> None:
    """The broker holds a socket per node and this process a console log per node: lift the
    soft limit on open files to the hard one when a fleet needs more than it allows."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4 * nodes + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


def _connects_per_s(log: Path, since: float) -> int:
    """The most client connects mosquitto logged in one second after `since`."""
    per_s: Counter[int] = Counter()
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return 0
    for m in re.finditer(r"^(\d+): New client connected", text, re.M):
        t = int(m.group(1))
        if t >= since:
            per_s[t] += 1
    return max(per_s.values() or [0])


def issue_fleet(plan: FleetPlan) -> list[str]:
    """The identities of this shard's nodes, issued from the city PKI ahead of a run against
    a broker that must know its users first (RabbitMQ: then `stadsnod broker config --kind
    rabbitmq`). Devices issued before are left as they are. Returns those issued now."""
    assert plan.pki is not None
    city = city_pki(plan.pki)
    have = {d["id"] for d in city.registry.devices()}
    new = [d for d in plan.device_ids() if d not in have]
    if new:
        city.issue(new, city.dir / "bundles", progress=lambda m: _progress(m.strip()))
    return new


def _deployment(plan: FleetPlan, workdir: Path) -> Deployment | GuestDeployment:
    if plan.broker:
        if plan.pki is None:
            raise ToolError("--broker needs --pki: the city PKI its certificates come from")
        return GuestDeployment(workdir, city_pki(plan.pki), plan.broker, plan.shard[0])
    if plan.join:
        return joined(workdir, plan.join, plan.shard[0])
    return Deployment(workdir)


def run_fleet(plan: FleetPlan, workdir: Path) -> FleetResult:
    interval_s = plan.interval_min * 60 / plan.speed
    time_scale = 1 / plan.speed
    dep = _deployment(plan, workdir)
    with dep:
        if plan.owns_broker:
            announce(workdir, dep)
        elif plan.join:
            (plan.join / f"joined-{plan.shard[0]}.started").touch()
        _raise_file_limit(len(plan.ids()))
        nodes = []
        t0 = time.time()
        # Each node boots as soon as it is provisioned: the city PKI's issuing paces the
        # power-ups (about 20 a second here), as a city's nodes do not all boot in one second.
        for i, (k, device_id) in enumerate(zip(plan.ids(), plan.device_ids(), strict=True)):
            kit = KITS[k % len(KITS)]
            node = dep.add_node(device_id, kit=kit,
                                sensors=kit_sensors(kit, interval_s, time_scale),
                                interval_s=interval_s, health_s=interval_s,
                                keepalive_s=60)
            node.world = sim_world(k, kit=kit, time_scale=time_scale)
            node.config["broker"]["reconnect_spread_s"] = RECONNECT_SPREAD_S
            node.watchdog_check_s = 1.0
            nodes.append(node.prepare().start())
            if i % 100 == 99:
                _progress(f"{i + 1} nodes provisioned and booting")
        _progress(f"{len(nodes)} nodes running")
        schedule = Schedule(plan, nodes, dep)
        start = time.time()
        end = start + plan.real_s(plan.hours)
        last = 0.0
        while time.time() < end:
            sim_h = (time.time() - start) * plan.speed / 3600
            schedule.due(sim_h)
            if time.time() - last >= 5:
                last = time.time()
                up = sum(n.alive() for n in nodes)
                _progress(f"sim {sim_h:5.2f}/{plan.hours:g} h | nodes up {up}/{len(nodes)} | "
                          f"messages {len(dep.platform.messages)}")
            time.sleep(0.2)
        schedule.due(plan.hours + 1)  # anything left (a node's power back on)
        for n in nodes:
            n.set_wifi(True)
        _progress("simulated time over; waiting for the queues to drain")
        mem = [m for m in (_memory(n) for n in nodes) if m[0]]
        result = _count(dep, nodes, plan, drain_s=max(30.0, 4 * interval_s))
        result.wall_s = time.time() - t0
        result.rss_bytes_per_node = sum(m[0] for m in mem) / max(1, len(mem))
        result.pss_bytes_per_node = sum(m[1] for m in mem) / max(1, len(mem))
        if dep.broker.log is not None:
            result.reconnects_per_s_peak = _connects_per_s(dep.broker.log,
                                                           schedule.restarted_at or end)
        result.events = schedule.events
        if plan.join is not None:
            (plan.join / f"joined-{plan.shard[0]}.done").touch()
        elif plan.owns_broker:
            wait_for_joined(workdir)
        return result


def _count(dep: Deployment | GuestDeployment, nodes: list[SimNode], plan: FleetPlan,
           drain_s: float) -> FleetResult:
    # drained: every node's readings without a gap (its newest goes first, so a backlog
    # still on its way shows as one)
    deadline = time.time() + drain_s
    while time.time() < deadline:
        if not sum(dep.platform.tally(n.device_id).lost for n in nodes):
            break
        time.sleep(1)
    readings = lost = dups = differing = 0
    examples: list[str] = []  # duplicates that differ: each delivery, to see how
    lost_by: dict[str, int] = {}
    heaps = []
    silent = []
    quiet_since = time.time() - 3 * plan.interval_min * 60 / plan.speed
    for n in nodes:
        data = dep.platform.of("data", n.device_id)
        if not data or data[-1].at < quiet_since:
            silent.append(n.device_id)
        t = dep.platform.tally(n.device_id)
        readings += t.readings
        lost += t.lost
        if t.lost:
            lost_by[n.device_id] = t.lost
        dups += t.duplicates
        differing += t.differing
        if t.differing and len(examples) < 5:
            seen = dep.platform.readings(n.device_id)
            examples += [f"{n.device_id} seq {seq}: {v}" for seq, v in sorted(seen.items())
                         if any(d != v[0] for d in v)][:2]
        health = dep.platform.of("health", n.device_id)
        if health:
            heaps.append(by_name(health[-1].payload).get("heap_steady", 0))
    wall = plan.real_s(plan.hours)
    return FleetResult(nodes=len(nodes), sim_hours=plan.hours, wall_s=0, readings=readings,
                       lost=lost, duplicates=dups, differing=differing, rss_bytes_per_node=0,
                       pss_bytes_per_node=0,
                       heap_bytes_per_node=sum(heaps) / max(1, len(heaps)),
                       messages_per_s=len(dep.platform.messages) / wall,
                       reconnects_per_s_peak=None, lost_by_node=lost_by,
                       differing_examples=examples, silent=silent)
