"""`stadsnod soak` (make soak): one node runs a simulated day on an accelerated clock -- one
"minute" of readings every `minute_s` real seconds -- while the broker goes away for outages
adding up to `outage_hours`. Afterwards every reading must have reached the platform (after
de-duplication by sequence number), the heap must not have grown, and the watchdog must not
have fired."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from ..core.paths import RUN, ToolError
from ..core.senml import by_name
from .deployment import Deployment


@dataclass
class SoakResult:
    readings: int
    lost: int
    duplicates: int
    heap_growth: int
    watchdog_resets: int
    drain_per_s: float
    flash_bytes_per_reading: float


def _progress(msg: str) -> None:
    print(f"soak: {msg}", file=sys.stderr, flush=True)


def run_soak(hours: float = 24, outage_hours: float = 6, outages: int = 3,
             minute_s: float = 0.05) -> SoakResult:
    total_s = hours * 60 * minute_s
    outage_s = outage_hours * 60 * minute_s / outages
    device = "soak-0001"
    with Deployment(RUN / "soak") as dep:
        # health 4 times a second: the heap trend compares the floors of tenths of the day,
        # which need samples (a short soak with one health a second had one sample a tenth,
        # and one sample moves by a pack with what is in flight at the quiet point)
        node = dep.add_node(device, interval_s=minute_s, every_s=minute_s / 2, health_s=0.25,
                            watchdog_s=10)
        node.start()
        dep.platform.wait_for(lambda m: m.topic.endswith(f"{device}/data"), timeout=30)
        start = time.time()
        # outages spread over the day: each starts after an equal stretch of normal running
        gap_s = (total_s - outages * outage_s) / (outages + 1)
        drains = []
        for k in range(outages):
            time.sleep(gap_s)
            _progress(f"outage {k + 1}/{outages}: broker down for {outage_hours / outages:.1f} "
                      f"simulated hours")
            dep.broker.stop()
            time.sleep(outage_s)
            backlog_from = max(dep.platform.readings(device) or [0])
            dep.broker.start()
            restarted = time.time()
            # drained: every reading up to the end of the outage has arrived (the newest one
            # may overtake the backlog, so the highest seq seen says nothing)
            target = backlog_from + int(outage_s / minute_s)
            while not set(range(1, target + 1)) <= set(dep.platform.readings(device)) and \
                    time.time() - restarted < 120:
                time.sleep(0.05)
            drains.append((target - backlog_from, time.time() - restarted))
        time.sleep(max(0.0, total_s - (time.time() - start)))
        _progress("day over; waiting for the last readings")
        # A report sent after the day ended, with nothing queued. An older one says nothing:
        # after the last outage the node may still be backing off (up to the 60 s cap: the
        # day's connections are too short to restart the pacing), its backlog still on flash.
        day_end = time.time()
        deadline = day_end + 120
        while time.time() < deadline:
            fresh = [m for m in dep.platform.of("health", device) if m.at > day_end]
            if fresh and by_name(fresh[-1].payload)["queued"] == 0:
                break
            time.sleep(0.5)
        if not node.alive():
            raise ToolError(f"the soak node died; see {node.log_path}")
        health = [by_name(m.payload) for m in dep.platform.of("health", device)]
        # the steady heap of a node with at most its newest reading queued: while a backlog
        # drains, its packs in flight are alive at the quiet point too (work, not growth)
        steady = [h["heap_steady"] for h in health if h.get("heap_steady")
                  and h.get("queued", 0) <= 1]
        heap_first, heap_last = heap_trend(steady)
        tally = dep.platform.tally(device)
        drained = sum(n for n, _ in drains)
        spent = sum(t for _, t in drains)
        return SoakResult(readings=tally.top, lost=tally.lost,
                          duplicates=tally.duplicates,
                          heap_growth=heap_last - heap_first,
                          watchdog_resets=node.resets.count(3),
                          drain_per_s=drained / spent if spent else 0.0,
                          flash_bytes_per_reading=health[-1]["flash_written"] /
                          max(1, health[-1]["published"]))


def heap_trend(steady: list[int]) -> tuple[int, int]:
    """(early, late) steady heap: the floor of the second tenth of the series (past its start)
    and of the last tenth. At the quiet point a pack may still wait for its PUBACK (in a soak
    with a reading every 50 ms, often: 384-448 B on top, and which value a tenth's median lands
    on is chance); what is always alive is the floor, and a leak raises the floor."""
    tenth = max(1, len(steady) // 10)
    return min(steady[tenth:2 * tenth] or steady), min(steady[-tenth:])


def print_soak(r: SoakResult) -> None:
    print(f"soak_readings: {r.readings} count")
    print(f"soak_readings_lost: {r.lost} count")
    print(f"soak_duplicates: {r.duplicates} count")
    print(f"soak_heap_growth_bytes: {r.heap_growth} bytes")
    print(f"soak_watchdog_resets: {r.watchdog_resets} count")
    print(f"soak_backlog_drain_readings_per_s: {r.drain_per_s:.0f} readings/s")
    print(f"queue_write_bytes_per_reading: {r.flash_bytes_per_reading:.0f} bytes")
