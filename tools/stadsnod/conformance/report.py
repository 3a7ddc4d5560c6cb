"""Verdicts and the report: one result per requirement (PASS, FAIL, MAYBE for an unmet SHOULD,
NA, INCONCLUSIVE), sticky -- a FAIL is never overwritten -- as JSON, JUnit XML for CI and an
HTML page a vendor reads."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from .catalogue import PROFILE_VERSION, Requirement, profile_sha256
from .checks import CHECKS, DECLARED, FAIL, INCONCLUSIVE, MAYBE, NA, Outcome, Seen, declared

CHECKER_VERSION = "1.0"


class Results:
    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}

    def set(self, req: Requirement, outcome: Outcome) -> None:
        old = self.by_id.get(req.id)
        if old and old["verdict"] == FAIL:
            return  # sticky
        verdict = outcome.verdict
        if verdict == FAIL and req.level != "MUST":
            verdict = MAYBE
        entry = {"id": req.id, "level": req.level, "verified": req.how, "verdict": verdict,
                 "evidence": outcome.evidence, "requirement": req.text}
        if outcome.hint and verdict in (FAIL, MAYBE):
            entry["hint"] = outcome.hint
        self.by_id[req.id] = entry


def judge(requirements: list[Requirement], seen: Seen, only: set[str] | None = None
          ) -> list[dict[str, Any]]:
    results = Results()
    for req in requirements:
        if only and req.id not in only:
            continue
        why = seen.declaration.get("not_applicable", {}).get(req.id)
        if req.condition and not seen.declaration["features"][req.condition]:
            results.set(req, Outcome(NA, f"no '{req.condition}' (declared): {why}"))
        elif req.id in CHECKS:
            results.set(req, CHECKS[req.id](seen))
        elif req.id in DECLARED:
            results.set(req, declared(seen, req.id))
        else:
            results.set(req, Outcome(INCONCLUSIVE, "this checker has no check for it"))
    return list(results.by_id.values())


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    count = {v: 0 for v in ("PASS", FAIL, MAYBE, NA, INCONCLUSIVE)}
    for r in results:
        count[r["verdict"]] += 1
    failed = [r["id"] for r in results if r["verdict"] == FAIL]
    incomplete = [r["id"] for r in results if r["verdict"] == INCONCLUSIVE]
    return {"counts": count, "failed": failed, "incomplete": incomplete,
            "complete": not incomplete, "conformant": not failed and not incomplete}


def report(device: str, declaration_sha: str, results: list[dict[str, Any]],
           phases: dict[str, Any], seconds: float) -> dict[str, Any]:
    return {"profile": PROFILE_VERSION,
            "checker": {"version": CHECKER_VERSION, "profile_sha256": profile_sha256()},
            "device": device, "declaration": {"sha256": declaration_sha},
            "seconds": round(seconds, 1), "phases": sorted(phases),
            "summary": summary(results), "results": results}


def write_junit(rep: dict[str, Any], path: Path) -> None:
    results = rep["results"]
    s = rep["summary"]["counts"]
    suite = ET.Element("testsuite", name=f"stadsnod profile v{rep['profile']}: {rep['device']}",
                       tests=str(len(results)), failures=str(s[FAIL]),
                       errors=str(s[INCONCLUSIVE]), skipped=str(s[NA]),
                       time=str(rep["seconds"]))
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=f"profile.{r['id'].split('-')[1]}",
                             name=f"{r['id']} {r['level']}")
        if r["verdict"] == FAIL:
            ET.SubElement(case, "failure", message=r["evidence"]).text = r.get("hint", "")
        elif r["verdict"] == INCONCLUSIVE:
            ET.SubElement(case, "error", message=r["evidence"])
        elif r["verdict"] == NA:
            ET.SubElement(case, "skipped", message=r["evidence"])
        ET.SubElement(case, "system-out").text = f"{r['verdict']}: {r['evidence']}"
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


_COLOURS = {"PASS": "#d8f0d8", FAIL: "#f6d0d0", MAYBE: "#fbeccc", NA: "#eeeeee",
            INCONCLUSIVE: "#e0e0f6"}


def write_html(rep: dict[str, Any], path: Path) -> None:
    s = rep["summary"]
    verdict = "conformant" if s["conformant"] else (
        "not conformant" if s["failed"] else "incomplete")
    rows = []
    for r in rep["results"]:
        hint = f"<br><b>Fix:</b> {html.escape(r['hint'])}" if r.get("hint") else ""
        rows.append(
            f"<tr style='background:{_COLOURS[r['verdict']]}'><td><code>{r['id']}</code></td>"
            f"<td>{r['level']}</td><td><b>{r['verdict']}</b></td>"
            f"<td>{html.escape(r['requirement'])}</td>"
            f"<td>{html.escape(r['evidence'])}{hint}</td></tr>")
    counts = ", ".join(f"{k} {v}" for k, v in s["counts"].items())
    path.write_text(
        "<!doctype html><meta charset='utf-8'>"
        f"<title>stadsnod conformance: {html.escape(rep['device'])}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td{padding:.3em;vertical-align:top;"
        "border-bottom:1px solid #ccc}table{border-collapse:collapse}</style>"
        f"<h1>{html.escape(rep['device'])}: {verdict}</h1>"
        f"<p>Device guideline profile v{rep['profile']} (text SHA-256 "
        f"<code>{rep['checker']['profile_sha256'][:16]}</code>), checker "
        f"{rep['checker']['version']}, declaration <code>{rep['declaration']['sha256'][:16]}"
        f"</code>, {rep['seconds']} s. {counts}.</p>"
        "<table><tr><th>id</th><th>level</th><th>verdict</th><th>requirement</th>"
        f"<th>evidence</th></tr>{''.join(rows)}</table>\n")


def write_json(rep: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(rep, indent=1) + "\n")
