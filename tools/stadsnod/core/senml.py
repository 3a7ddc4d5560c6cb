"""SenML (RFC 8428) reading on the host: resolve a pack into records with full names and
absolute times, rejecting what a reader must reject."""

from __future__ import annotations

import json
import time
from typing import Any

VALUE_KEYS = ("v", "vs", "vb", "vd")


class SenMLError(ValueError):
    pass


def resolve(payload: bytes | str, now: float | None = None) -> list[dict[str, Any]]:
    pack = json.loads(payload)
    if not isinstance(pack, list) or not pack:
        raise SenMLError("a SenML pack is a non-empty JSON array")
    now = time.time() if now is None else now
    bn, bt, bu = "", 0.0, None
    out = []
    for rec in pack:
        if not isinstance(rec, dict):
            raise SenMLError("a SenML record is a JSON object")
        for key in rec:
            if key.endswith("_"):
                raise SenMLError(f"must-understand label {key} is not supported")
        bn = rec.get("bn", bn)
        bt = rec.get("bt", bt)
        bu = rec.get("bu", bu)
        values = [k for k in VALUE_KEYS if k in rec]
        if len(values) != 1:
            raise SenMLError(f"record {rec} needs exactly one value")
        t = bt + rec.get("t", 0)
        if t < 2**28:  # relative to now
            t = now + t
        out.append({"n": bn + rec.get("n", ""), "u": rec.get("u", bu), "t": t,
                    "value": rec[values[0]]})
    return out


def by_name(payload: bytes | str, prefix: str | None = None) -> dict[str, Any]:
    """{short name: value} with `prefix` removed; without one, the pack's own first bn."""
    records = resolve(payload)
    if prefix is None:
        first = json.loads(payload)[0]
        prefix = first.get("bn", "") if isinstance(first, dict) else ""
    return {r["n"][len(prefix):] if r["n"].startswith(prefix) else r["n"]: r["value"]
            for r in records}
