"""The conformance kit (vendors): the profile's requirement catalogue against the checker's
table, the declaration failing closed, and a full `stadsnod conformance run` -- lab, observing
TLS proxy in front of mosquitto, SNTP withheld then given, signed and unsigned commands, a
burst of malformed ones, refused connects, kicks after CONNACK, four broker certificates a
device must refuse, a broker restart, a port probe -- against a stadsnod node set up from the
lab's files as a vendor would set up its device."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from stadsnod.conformance import catalogue
from stadsnod.conformance.checks import CHECKS, DECLARED

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "profile" / "examples" / "declaration-stadsnod.json"


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stadsnod.cli", *args], capture_output=True,
                          text=True, timeout=timeout,
                          env=dict(os.environ, PYTHONPATH=f"{ROOT / 'tools'}:{ROOT}"))


def test_every_must_has_a_check_or_is_marked_documentation_only() -> None:
    reqs = catalogue.load()
    assert len(reqs) >= 30
    ids = {r.id for r in reqs}
    for r in reqs:
        if r.how == "auto":
            assert r.id in CHECKS, f"{r.id} is verified 'auto' but the checker has no check"
        elif r.how == "declaration":
            assert r.id in CHECKS or r.id in DECLARED, f"{r.id}: nothing reads the declaration"
        else:
            assert r.id in DECLARED, f"{r.id}: documentation-only, but no declaration field"
        assert r.etsi and r.nist, r.id
    orphans = (set(CHECKS) | set(DECLARED)) - ids
    assert not orphans, f"checks for requirements the profile does not have: {orphans}"


def test_the_profile_text_is_the_checker_table() -> None:
    """A requirement line that does not parse stops the checker, as a duplicate id does."""
    text = catalogue.PROFILE.read_text()
    broken = text.replace("`SN-TOP-2` **MUST** *(auto;", "`SN-TOP-2` **MUST** *(automatic;")
    with pytest.raises(Exception, match="SN-TOP-2"):
        catalogue.parse(broken)
    twice = text.replace("`SN-TOP-3`", "`SN-TOP-2`")
    with pytest.raises(Exception, match="SN-TOP-2 appears twice"):
        catalogue.parse(twice)


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("conformance") / "lab"
    r = _cli("conformance", "lab", "--dir", str(folder), "--device", "vendor-0001")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "stadsnod conformance run --lab" in r.stdout
    return folder


def _declaration(tmp_path: Path, change) -> Path:
    doc = json.loads(EXAMPLE.read_text())
    change(doc)
    path = tmp_path / "declaration.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("case, change, expect", [
    ("missing", None, "no such file"),
    ("malformed", "{not json", "not JSON"),
    ("empty", lambda d: d.clear(), "'features' is a required property"),
    ("na-unconditional", lambda d: d["not_applicable"].update({"SN-TOP-2": "we retain"}),
     "$.not_applicable.SN-TOP-2: SN-TOP-2 applies to every device"),
    ("na-no-rationale", lambda d: d["not_applicable"].update({"SN-LOC-2": " "}),
     "$.not_applicable.SN-LOC-2: N/A needs a rationale"),
    ("feature-off-no-rationale", lambda d: d["not_applicable"].clear(),
     "$.features.local is false, so SN-LOC-2 does not apply -- say why"),
    ("wrong-type", lambda d: d["features"].update({"commands": "yes"}),
     "$.features.commands: 'yes' is not of type 'boolean'"),
])
def test_a_bad_declaration_fails_closed_naming_the_field(lab, tmp_path, case, change,
                                                        expect) -> None:
    if change is None:
        path = tmp_path / "nothing.json"
    elif isinstance(change, str):
        path = tmp_path / "bad.json"
        path.write_text(change)
    else:
        path = _declaration(tmp_path, change)
    r = _cli("conformance", "run", "--lab", str(lab), "--device", "vendor-0001",
             "--declaration", str(path), "--wait", "1")
    assert r.returncode == 2, (case, r.stdout, r.stderr)
    assert expect in r.stderr, (case, r.stderr)


@pytest.mark.timeout(600)
def test_a_stadsnod_node_is_conformant(lab, tmp_path) -> None:
    from stadsnod.testbed.lab_node import lab_node

    # the lab's node restarts its backoff after 5 s of steady connection (config
    # broker.backoff_stable_s; 30 in service), and declares so: the run waits less
    node = lab_node(lab, "vendor-0001", tmp_path / "node", interval_s=2, health_s=2,
                    keepalive_s=10, backoff_stable_s=5).start()
    decl = _declaration(tmp_path, lambda d: d["timing"].update(reconnect_stable_s=5))
    out = tmp_path / "report.json"
    try:
        r = _cli("conformance", "run", "--lab", str(lab), "--device", "vendor-0001",
                 "--declaration", str(decl), "--report", str(out), "--junit",
                 str(tmp_path / "junit.xml"), "--html", str(tmp_path / "report.html"),
                 "--wait", "60", timeout=600)
    finally:
        node.stop()
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    # through every fault of the run the node's runtime kept going (a broker endpoint that
    # closed right after TLS once ended it with an uncaught EOFError)
    assert "runtime stopped" not in (tmp_path / "node" / "console.log").read_text()
    rep = json.loads(out.read_text())
    assert rep["profile"] == "1" and rep["device"] == "vendor-0001"
    assert rep["checker"]["profile_sha256"] == catalogue.profile_sha256()
    verdicts = {x["id"]: x["verdict"] for x in rep["results"]}
    assert set(verdicts) == {req.id for req in catalogue.load()}
    assert {v for k, v in verdicts.items() if k != "SN-LOC-2"} == {"PASS"}, rep["results"]
    assert verdicts["SN-LOC-2"] == "NA"  # declared with a rationale: no local service
    evidence = {x["id"]: x["evidence"] for x in rep["results"]}
    # what decided the verdicts: the node's own refusals, as mbedTLS sent them
    assert "unknown ca" in evidence["SN-TLS-2"] and "expired" in evidence["SN-TLS-3"]
    assert "protocol version" in evidence["SN-TLS-1"]
    assert "growing" in evidence["SN-RES-2"]
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert suite.get("failures") == "0" and suite.get("tests") == str(len(verdicts))
    assert "vendor-0001: conformant" in (tmp_path / "report.html").read_text()


@pytest.mark.timeout(900)
def test_twelve_seeded_foreign_devices_each_fail_exactly_their_violation(tmp_path) -> None:
    """Another vendor's device (CPython, written from the profile), conformant as it stands,
    and twelve copies each seeded with one violation -- data retained, a will not retained,
    bt from uptime, seq restarting after a reset, a publish under another id, a replayed
    command run, an expired broker certificate accepted, raw audio samples in a record, a
    web page behind admin/admin, `C` as a unit, no backoff after a kick, a declaration that
    lists a record never published: each fails exactly its requirement and passes the rest."""
    from stadsnod.testbed.seeded import caught_exactly, run_seeded
    from stadsnod.testbed.vendor_device import FAULTS

    out = run_seeded(tmp_path, [None, *FAULTS])
    base = out[None]
    assert base["exit"] == 0, base["output"]
    assert {v for v in base["results"].values()} <= {"PASS", "NA"}, base["results"]
    for fault, want in FAULTS.items():
        got = out[fault]["results"]
        assert out[fault]["exit"] == 1, (fault, out[fault]["output"])
        wrong = {k: v for k, v in got.items() if v not in ("PASS", "NA")}
        assert wrong == {want: "FAIL"}, (fault, wrong, out[fault]["output"][-1500:])
    assert caught_exactly(out, FAULTS) == 12
