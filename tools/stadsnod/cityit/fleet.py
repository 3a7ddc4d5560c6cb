"""Rollouts: a release goes to the fleet in rings -- a canary set, then percentages -- through
signed `update` commands, and each node's outcome is read from its cmd/result topic: confirmed
(the new release reached the broker, saw a fresh timestamp and passed its self-test), or
reverted, failed, refused, or silent past the deadline. A ring with more failures than allowed
halts the rollout by itself; nodes not yet asked keep what they run. Every step goes into the
registry (each node's release) and its audit log."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..core.paths import ToolError
from .city import City
from .signing import platform_client, sign_command

OK = ("confirmed", "already")
FAILED = ("reverted", "failed", "refused")


@dataclass
class Rollout:
    release: int
    rings: list[list[str]]
    outcome: dict[str, str] = field(default_factory=dict)  # device -> confirmed | reverted ...
    halted_at: int | None = None  # the ring that stopped it
    seconds: float = 0.0


def rings_of(devices: list[str], canary: int, percents: list[int]) -> list[list[str]]:
    """The canary set first, then each percentage of the whole fleet (cumulative)."""
    rings, done = [devices[:canary]], canary
    for p in percents:
        upto = min(len(devices), max(done, math.ceil(len(devices) * p / 100)))
        if upto > done:
            rings.append(devices[done:upto])
            done = upto
    if done < len(devices):
        rings.append(devices[done:])
    return [r for r in rings if r]


class _Results:
    """The platform's view of <root>/+/cmd/result for one rollout."""

    def __init__(self, city: City) -> None:
        self.root = city.settings["topic_root"]
        self.seen: dict[str, list[dict]] = {}
        self.lock = threading.Lock()
        self.client = platform_client(city, "cityit-rollout", f"{self.root}/+/cmd/result",
                                      self._on_message)

    def _on_message(self, _c, _u, m) -> None:
        try:
            r = json.loads(m.payload)
        except ValueError:
            return
        with self.lock:
            self.seen.setdefault(m.topic.split("/")[-3], []).append(r)

    def outcome(self, device: str, seq: int) -> tuple[str, str] | None:
        with self.lock:
            for r in self.seen.get(device, []):
                if r.get("seq") != seq or r.get("op") != "update":
                    continue
                detail = str(r.get("detail") or "")
                if r["result"] == "confirmed":
                    return "confirmed", detail
                if r["result"] == "done" and detail.startswith("already"):
                    return "already", detail
                if r["result"] in FAILED and not detail.startswith("replayed"):
                    return r["result"], detail  # (a replay is our own re-send arriving)
        return None

    def heard(self, device: str, seq: int) -> bool:
        with self.lock:
            return any(r.get("seq") == seq for r in self.seen.get(device, []))

    def publish(self, device: str, data: bytes) -> None:
        self.client.publish(f"{self.root}/{device}/cmd", data, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def rollout(city: City, devices: list[str], release: int, canary: int = 1,
            percents: list[int] | None = None, max_failures: int = 0, wait_s: float = 600,
            expires_s: int = 3600, say: Callable[[str], None] = print,
            resend_s: float = 10) -> Rollout:
    """Rolls `release` out ring by ring; halts when a ring has more than `max_failures`."""
    if not devices:
        raise ToolError("no devices to update (stadsnod device list)")
    plan = Rollout(release, rings_of(devices, canary, percents or [50, 100]))
    start = time.time()
    results = _Results(city)
    city.registry.note("rollout-start", {"release": release, "rings": plan.rings,
                                         "max_failures": max_failures})
    try:
        for k, ring in enumerate(plan.rings, 1):
            say(f"ring {k}/{len(plan.rings)}: {', '.join(ring)}")
            asked, sent = {}, {}
            for device in ring:
                seq, data = sign_command(city, device, "update", {"release": release}, expires_s)
                results.publish(device, data)
                asked[device], sent[device] = seq, (data, time.time())
            deadline = time.time() + wait_s
            while asked and time.time() < deadline:
                for device, seq in asked.items():
                    # a node that was offline never got it (no session kept): send it again;
                    # the same command runs once, whatever the broker delivers
                    data, at = sent[device]
                    if time.time() - at > resend_s and not results.heard(device, seq):
                        results.publish(device, data)
                        sent[device] = (data, time.time())
                for device, seq in list(asked.items()):
                    got = results.outcome(device, seq)
                    if got:
                        state, detail = got
                        plan.outcome[device] = state
                        city.registry.record_release(device, release, state, detail)
                        say(f"  {device}: {state}" + (f" -- {detail}" if detail else ""))
                        del asked[device]
                time.sleep(0.1)
            for device in asked:
                plan.outcome[device] = "silent"
                city.registry.record_release(device, release, "silent",
                                             f"no outcome within {wait_s:.0f} s")
                say(f"  {device}: silent -- no outcome within {wait_s:.0f} s")
            failures = sum(1 for d in ring if plan.outcome[d] not in OK)
            if failures > max_failures:
                plan.halted_at = k
                say(f"HALTED at ring {k}: {failures} of {len(ring)} failed (allowed "
                    f"{max_failures}); {sum(len(r) for r in plan.rings[k:])} node(s) not asked")
                break
    finally:
        results.close()
        plan.seconds = time.time() - start
        city.registry.note("rollout-end", {"release": release, "halted_at": plan.halted_at,
                                           "outcome": plan.outcome})
    return plan
