"""Attacks on the node's own installer (TUF's list): each case a release folder as a hostile or
broken update service would serve it, run through update_scenarios.attacks on the VM."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from provisioning.trust import TrustStore

from .ota import EPOCH, SECRET, _mpy_like, _scenario


def _signed(doc: dict, signers: list) -> bytes:
    from provisioning.trust import wrap

    return wrap(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode(), signers)


def _timestamp_for(store: TrustStore, manifest_sns: bytes, release: int, version: int,
                   expires: float, signers: list | None = None) -> bytes:
    from provisioning.trust import unwrap

    body, _ = unwrap(manifest_sns)
    return _signed({"type": "stadsnod-timestamp", "version": version, "release": release,
                    "manifest": hashlib.sha256(body).hexdigest(), "expires": int(expires)},
                   signers or store.signers("timestamp"))


def attack_cases(base: Path) -> Path:
    """base/cases/<name>/: manifest.sns, timestamp.sns, files/, case.json (the node's state
    before, the release it is told to install, the words its refusal must contain)."""
    from provisioning.release import index as make_index
    from provisioning.release import manifest as make_manifest

    store = TrustStore.init(base / "trust", SECRET, root_keys=1, root_threshold=1)
    lib, other = base / "lib", base / "lib-other"
    for folder, seed in ((lib, 0), (other, 5)):
        folder.mkdir(parents=True)
        for i, (name, size) in enumerate({"app.mpy": 2600, "node.mpy": 700}.items()):
            (folder / name).write_bytes(_mpy_like(size, i + seed))
    now = time.time()
    ts_v = int(now) - EPOCH
    cases = base / "cases"
    (base / "root.sns").write_bytes(store.root().data)
    running = {"active": "a", "version": 2, "security": 2, "timestamp_version": ts_v - 10}

    def case(name: str, doc: dict, expect: str, *, version: int = 3, signers=None,
             ts=None, files: Path = lib, state: dict | None = None,
             listing: bytes | None = None, **extra) -> None:
        d = cases / name
        (d / "files").mkdir(parents=True)
        for f in files.glob("*.mpy"):
            (d / "files" / f.name).write_bytes(f.read_bytes())
        (d / "index.txt").write_bytes(listing if listing is not None else make_index(lib))
        sns = _signed(doc, signers or store.signers("release"))
        (d / "manifest.sns").write_bytes(sns)
        (d / "timestamp.sns").write_bytes(ts(sns) if ts else _timestamp_for(
            store, sns, doc["version"], ts_v, now + 3600))
        (d / "case.json").write_text(json.dumps({"version": version, "expect": expect,
                                                 "state": state or running, **extra}))

    def good(listing: bytes | None = None, **over) -> dict:
        doc = make_manifest(lib, 3, 2, ["host"], files=listing)
        doc["target"]["mpy"] = [6, None, None]
        return doc | over

    case("rollback-older", good(version=1), "not newer than the running v2", version=1)
    case("same-version", good(version=2), "already running v2", version=2)
    case("older-timestamp", good(), "older than", ts=lambda sns: _timestamp_for(
        store, sns, 3, ts_v - 100, now + 3600))
    case("freeze", good(), "timestamp expired", ts=lambda sns: _timestamp_for(
        store, sns, 3, ts_v, now - 60))
    case("security-below", good(security=1), "security counter 1 is below the node's 2")
    case("expired-release", good(expires=int(now) - 60), "release v3 expired")
    case("wrong-board", good(target={"boards": ["esp32"], "mpy": [6, None, None]}),
         "not board host")
    case("wrong-abi", good(target={"boards": ["host"], "mpy": [5, None, None]}), ".mpy")
    case("wrong-role", good(), "manifest: 0 valid signature(s)",
         signers=store.signers("timestamp"))  # the timestamp key alone installs nothing
    case("unsigned-timestamp", good(), "timestamp: 0 valid signature(s)",
         ts=lambda sns: _timestamp_for(store, sns, 3, ts_v, now + 3600,
                                       store.signers("release")))
    case("mix-and-match-manifest", good(), "mix-and-match", ts=lambda sns: _timestamp_for(
        store, _signed(good(security=3), store.signers("release")), 3, ts_v, now + 3600))
    case("mix-and-match-file", good(), "does not match its hash", files=other)
    huge = b"app.mpy 70000 " + b"0" * 64 + b"\n"
    case("oversize-file", good(huge), "file entry", listing=huge)
    case("forged-file-list", good(), "file list does not match the manifest",
         listing=make_index(other))
    case("oversize-chunk", good(), "2048 bytes, over 1024", chunk_bytes=2048)
    big = good()
    big["padding"] = "x" * 17000
    case("oversize-manifest", big, "over the 16384-byte limit")
    return cases


def run_attacks(cases: Path) -> dict:
    return _scenario("attacks", cases)
