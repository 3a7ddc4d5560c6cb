"""The profile's numbered requirements, read from the text vendors read (profile/profile.md):
the checker's table is generated from the same lines, never kept apart from them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ..core.paths import ROOT, ToolError

PROFILE = ROOT / "profile" / "profile.md"
PROFILE_VERSION = "1"
LEVELS = ("MUST", "SHOULD", "MAY")
HOW = ("auto", "declaration", "documentation")
FEATURES = ("commands", "ota", "noise", "occupancy", "local")

# - `SN-ID-1` **MUST** *(auto; if commands; EN 303 645 5.4-4, 5.5-4; NIST identification)* — text
_LINE = re.compile(
    r"^- `(?P<id>SN-[A-Z]+-\d+)` \*\*(?P<level>[A-Z]+)\*\* \*\((?P<how>[a-z]+)"
    r"(?:; if (?P<cond>[a-z]+))?; EN 303 645 (?P<etsi>[^;]+); NIST (?P<nist>[^)]+)\)\* — "
    r"(?P<text>.*)$")


@dataclass(frozen=True)
class Requirement:
    id: str
    level: str
    how: str  # auto, declaration, documentation
    condition: str | None  # a declared feature it depends on
    etsi: tuple[str, ...]
    nist: tuple[str, ...]
    text: str


def _blocks(text: str) -> list[str]:
    """Requirement lines with their continuation lines joined."""
    out: list[str] = []
    for line in text.splitlines():
        if line.startswith("- `SN-"):
            out.append(line.rstrip())
        elif out and line.startswith("  ") and line.strip() and not out[-1].endswith("\n"):
            out[-1] += " " + line.strip()
        elif out:
            out[-1] += "\n"  # the requirement has ended
    return [b.rstrip("\n") for b in out]


def parse(text: str) -> list[Requirement]:
    reqs: list[Requirement] = []
    for block in _blocks(text):
        m = _LINE.match(block)
        if not m:
            raise ToolError(f"profile line not in the requirement form: {block[:90]}...")
        if m["level"] not in LEVELS or m["how"] not in HOW:
            raise ToolError(f"{m['id']}: level {m['level']} / verification {m['how']} unknown")
        if m["cond"] and m["cond"] not in FEATURES:
            raise ToolError(f"{m['id']}: condition 'if {m['cond']}' names no declared feature")
        if any(r.id == m["id"] for r in reqs):
            raise ToolError(f"{m['id']} appears twice in the profile")
        reqs.append(Requirement(m["id"], m["level"], m["how"], m["cond"],
                                tuple(s.strip() for s in m["etsi"].split(",")),
                                tuple(s.strip() for s in m["nist"].split(",")),
                                m["text"].strip()))
    return reqs


def load(path: Path = PROFILE) -> list[Requirement]:
    return parse(path.read_text())


def profile_sha256(path: Path = PROFILE) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


WIRE_CONTRACT = ROOT / "profile" / "wire-contract.md"


def record_table(path: Path = WIRE_CONTRACT) -> dict[str, str | None]:
    """Record name -> SenML unit (None: no unit, a boolean or a dimensionless index) from the
    wire contract's table; `quality/<sensor>` is kept as the prefix `quality/`."""
    table: dict[str, str | None] = {}
    text = path.read_text()
    start = text.index("| name | unit | meaning |")
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        names, unit = line.split("|")[1:3]
        u = re.fullmatch(r"\s*`([^`]+)`\s*", unit)
        for name in re.findall(r"`([^`]+)`", names):
            table[name.replace("<sensor>", "")] = u[1] if u else None
    table["seq"] = None
    return table
