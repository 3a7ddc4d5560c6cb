"""The backlog of a long outage and how fast it drains: a node's flash queue holds 72 hours of
one-minute readings (4,320, written by the firmware's own spool on the MicroPython VM before
the node boots), the node comes up against the deployment's mosquitto, and the platform
counts every sequence number until all have arrived. The bench prints the rate beside the
node's heap; tests run a shorter backlog through the same path."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..core.mpyrun import run_code
from ..core.paths import RUN, ToolError
from ..core.senml import by_name
from .deployment import Deployment

# the weather kit's records (profile/wire-contract.md), as the node's interval writes them
NAMES = [["temperature", "Cel"], ["humidity", "%RH"], ["pressure", "Pa"],
         ["quality/bme280_0x76", "/"]]
EPOCH = 1704067200  # link/clock.py: node time counts seconds from here

# runs on the VM in the node's folder: the firmware's spool writes what an outage left behind
_FILL = """
import reading
from spool import Spool
names = {names!r}
sp = Spool("q", {capacity}, {segment})
for i in range({count}):
    t = {start} + 60 * i
    sp.append(names, reading.encode(reading.UNIX, t, 0, 1,
                                    [(0, 1500 + i % 300), (1, 5500), (2, 10132500), (3, 1)]))
print(len(sp))
"""


@dataclass
class DrainResult:
    readings: int
    lost: int
    duplicates: int
    differing: int  # duplicates that are not the same reading (must be 0)
    seconds: float
    heap_peak: int
    restarted_at: int = 0  # readings in when the broker restarted (0: it did not)

    @property
    def per_s(self) -> float:
        return self.readings / self.seconds


def _progress(msg: str) -> None:
    print(f"drain: {msg}", file=sys.stderr, flush=True)


def fill_backlog(node_dir: Path, count: int, capacity: int, segment: int) -> None:
    start = int(time.time()) - EPOCH - 60 * count - 3600  # ended an hour ago
    code = _FILL.format(names=NAMES, capacity=capacity, segment=segment, count=count,
                        start=start)
    r = run_code(code, cwd=node_dir, timeout=300)
    if r.returncode or r.stdout.split()[-1:] != [str(count)]:
        raise ToolError(f"could not write the backlog:\n{r.stdout}{r.stderr}")


def run_drain(count: int = 4320, workdir: Path | None = None, restart_at: int = 0,
              **queue: int) -> DrainResult:
    """A node boots with `count` readings queued; `queue` overrides its queue settings
    (window=1: one pack in flight at a time). With `restart_at`, the broker restarts once
    that many readings have arrived: the packs in flight then go again after the reconnect."""
    device = "drain-0001"
    with Deployment(workdir or RUN / "drain") as dep:
        node = dep.add_node(device, interval_s=3600, health_s=2)
        node.config["queue"] = {**node.config.get("queue", {}), **queue}
        node.prepare()
        q = node.config["queue"]
        _progress(f"writing {count} readings to the node's queue")
        fill_backlog(node.dir, count, q.get("capacity", 4320), q.get("segment_records", 64))
        node.start()
        online = dep.platform.wait_for(lambda m: m.topic.endswith(f"{device}/status")
                                       and m.payload == b"online", timeout=60)
        started = online[0].at
        _progress("node connected; draining")
        want = set(range(1, count + 1))
        deadline = time.time() + 600
        seen: dict = {}
        restarted_at = 0
        while time.time() < deadline:
            data = dep.platform.of("data", device)
            if data:
                seen = dep.platform.readings(device)
                if want <= set(seen):
                    break
                if restart_at and not restarted_at and len(seen) >= restart_at:
                    restarted_at = len(seen)
                    _progress(f"{len(seen)} readings in: restarting the broker")
                    dep.broker.stop()
                    dep.broker.start()
            if not node.alive():
                raise ToolError(f"the drain node died; see {node.log_path}")
            time.sleep(0.25)
        else:
            raise ToolError(f"{len(want - set(seen))} readings never arrived; "
                            f"see {node.log_path}")
        finished = max(m.at for m in dep.platform.of("data", device))
        time.sleep(2.5)  # one more health pack, with the heap of the drain
        peaks = [by_name(m.payload).get("heap_peak", 0) for m in dep.platform.of("health", device)]
        t = dep.platform.tally(device, upto=count)
        return DrainResult(readings=count, lost=t.lost, duplicates=t.duplicates,
                           differing=t.differing,
                           seconds=finished - started, heap_peak=max(peaks or [0]),
                           restarted_at=restarted_at)
