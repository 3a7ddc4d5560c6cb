"""The vendor's declaration (profile/declaration.schema.json): read, checked against the schema
and the profile's rules, and turned into the set of requirements that apply. Anything wrong
fails closed with the field named (the harness exits 2): a checker that runs on a missing or
empty declaration tests nothing and says everything passed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.paths import ROOT
from .catalogue import Requirement

SCHEMA = ROOT / "profile" / "declaration.schema.json"


class DeclarationError(Exception):
    """The declaration cannot be used; `problems` names each field."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.problems = problems
        super().__init__(f"declaration {path}:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Declaration:
    doc: dict[str, Any]
    sha256: str

    def has(self, feature: str) -> bool:
        return bool(self.doc["features"][feature])

    def applies(self, req: Requirement) -> bool:
        return req.condition is None or self.has(req.condition)

    def rationale(self, req_id: str) -> str | None:
        return self.doc.get("not_applicable", {}).get(req_id)


def _schema_problems(doc: Any) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    out = []
    for e in sorted(validator.iter_errors(doc), key=lambda e: e.json_path):
        out.append(f"{e.json_path}: {e.message}")
    return out


def check(doc: Any, requirements: list[Requirement], path: Path | str = "") -> Declaration:
    """The declaration, or DeclarationError listing every problem at once."""
    problems = _schema_problems(doc)
    if problems:
        raise DeclarationError(path, problems)
    by_id = {r.id: r for r in requirements}
    na = doc.get("not_applicable", {})
    for rid, why in sorted(na.items()):
        req = by_id.get(rid)
        if req is None:
            problems.append(f"$.not_applicable.{rid}: no requirement {rid} in profile v1")
        elif req.condition is None:
            problems.append(f"$.not_applicable.{rid}: {rid} applies to every device (it has "
                            "no condition); it cannot be declared N/A")
        elif not why.strip():
            problems.append(f"$.not_applicable.{rid}: N/A needs a rationale (why the device "
                            f"has no '{req.condition}')")
        elif doc["features"][req.condition]:
            problems.append(f"$.not_applicable.{rid}: declared N/A, but $.features."
                            f"{req.condition} is true: the requirement applies")
    for req in requirements:
        if req.condition and not doc["features"][req.condition] and req.id not in na:
            problems.append(f"$.not_applicable.{req.id}: $.features.{req.condition} is false, "
                            f"so {req.id} does not apply -- say why (a rationale)")
    if doc["features"]["local"] and not doc.get("local_services"):
        problems.append("$.local_services: $.features.local is true but no service is listed")
    if doc["features"]["ota"] and "update_mechanism" not in doc["ixit"]:
        problems.append("$.ixit.update_mechanism: $.features.ota is true: describe how "
                        "updates are signed, verified and reverted")
    if problems:
        raise DeclarationError(path, problems)
    data = json.dumps(doc, sort_keys=True).encode()
    return Declaration(doc, hashlib.sha256(data).hexdigest())


def load(path: Path, requirements: list[Requirement]) -> Declaration:
    if not path.is_file():
        raise DeclarationError(path, ["no such file: write one from "
                                      "profile/declaration.schema.json (an example: "
                                      "profile/examples/declaration-stadsnod.json)"])
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DeclarationError(path, [f"not JSON: {e}"]) from e
    decl = check(doc, requirements, path)
    raw = hashlib.sha256(path.read_bytes()).hexdigest()
    return Declaration(decl.doc, raw)
