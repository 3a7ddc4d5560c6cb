"""What a conformance run saw of one device (`Seen`), the verdicts, and the checker's table:
one function per automatically verified requirement of the profile, registered by its id in
CHECKS (the checks live in checks_wire.py and checks_behaviour.py; checks.py gathers them).
Each reads what the run observed and answers a verdict, the evidence that decided it, and for
a failure what to fix. A check that saw too little answers INCONCLUSIVE -- never a pass."""


from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PASS, FAIL, MAYBE, NA, INCONCLUSIVE = "PASS", "FAIL", "MAYBE", "NA", "INCONCLUSIVE"
TOPICS = ("data", "status", "health", "cmd/result", "update/get")
HEALTH_NEEDS = ("uptime", "boot", "firmware", "clock_synced", "reset_cause")
MAX_RECORDS = 64


@dataclass
class Outcome:
    verdict: str
    evidence: str
    hint: str = ""


@dataclass
class Seen:
    """What one run saw of one device, phase by phase."""

    device: str
    root: str
    declaration: dict[str, Any]
    events: list[dict[str, Any]]  # the observer's record
    phases: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> what it found

    def of(self, kind: str, since: float = 0, until: float = float("inf")) -> list[dict]:
        return [e for e in self.events if e["kind"] == kind and since <= e["t"] < until
                and e.get("device") in (self.device, None)]

    def publishes(self, suffix: str | None = None) -> list[dict]:
        topic = f"{self.root}/{self.device}/{suffix}" if suffix else None
        return [e for e in self.of("publish") if topic is None or e["topic"] == topic]

    def packs(self, suffix: str) -> list[tuple[float, list[dict]]]:
        out = []
        for e in self.publishes(suffix):
            try:
                pack = json.loads(e["payload"])
            except (ValueError, UnicodeDecodeError):
                pack = None
            out.append((e["t"], pack))
        return out


CHECKS: dict[str, Callable[[Seen], Outcome]] = {}


def check(req_id: str):
    def register(fn: Callable[[Seen], Outcome]) -> Callable[[Seen], Outcome]:
        CHECKS[req_id] = fn
        return fn
    return register


def _short(x: Any, n: int = 160) -> str:
    s = x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x)
    return s if len(s) <= n else s[:n] + "..."



# -- shared readings of what was seen
def _records(pack: list[dict]) -> list[dict]:
    return [r for r in pack if isinstance(r, dict)]


def _readings(s: Seen) -> dict[int, list[str]]:
    """seq -> the readings' values (as JSON) seen with it."""
    out: dict[int, list[str]] = {}
    for _t, pack in s.packs("data"):
        if not isinstance(pack, list):
            continue
        seq: Any = None
        values: list[list[Any]] = []
        for r in _records(pack) + [{"n": "seq", "v": None}]:
            if r.get("n") == "seq":
                if seq is not None:
                    out.setdefault(seq, []).append(json.dumps(values, sort_keys=True))
                seq, values = r.get("v"), []
            else:
                values.append([r.get("n"), r.get("v"), r.get("vb")])
    return out


def _health_values(s: Seen, since: float = 0) -> list[dict[str, Any]]:
    out = []
    for t, pack in s.packs("health"):
        if t < since:
            continue
        if isinstance(pack, list):
            vals: dict[str, Any] = {}
            for r in _records(pack):
                vals[str(r.get("n"))] = r.get("v", r.get("vs", r.get("vb")))
            out.append(vals)
    return out


def _split_readings(pack: list) -> list[list]:
    out: list[list] = [[]]
    for r in pack:
        if isinstance(r, dict) and r.get("n") == "seq" and out[-1]:
            out.append([])
        out[-1].append(r)
    return out
