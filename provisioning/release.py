"""Releases: a build's lib/ as a signed manifest (release key) and its files, and the short-lived
timestamp statements (timestamp key) that say which release is the newest. The node's side is
firmware/updates/ (release.py checks what is made here).

    <releases>/<target>/<version>/manifest.json  the manifest, as built
    <releases>/<target>/<version>/manifest.sns   the same bytes signed (an envelope)
    <releases>/<target>/<version>/files/<name>   the files, as the node stores them
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

from .trust import TrustError, TrustStore, unwrap, wrap

RELEASE_TYPE = "stadsnod-release"
TIMESTAMP_TYPE = "stadsnod-timestamp"
CHUNK = 1024  # firmware/updates/release.py
EPOCH = 1704067200  # the node's clock counts from 2024-01-01 (firmware/link/clock.py)
MAX_MANIFEST = 16384


def mpy_abi(lib: Path) -> list[int | None]:
    """[bytecode version, sub-version, native arch] of a build: the header of its .mpy files
    (byte 1 the version; byte 2 arch << 2 | sub-version, set only in files with native code).
    The node compares it with its sys.implementation._mpy."""
    version, sub, arch = None, None, None
    for f in sorted(lib.glob("*.mpy")):
        head = f.read_bytes()[:3]
        if head[:1] != b"M":
            raise TrustError(f"{f} is not a .mpy file")
        if version not in (None, head[1]):
            raise TrustError(f"{lib} mixes .mpy versions {version} and {head[1]}")
        version = head[1]
        if head[2] >> 2:
            sub, arch = head[2] & 3, head[2] >> 2
    if version is None:
        raise TrustError(f"no .mpy files in {lib}: run 'stadsnod build' first")
    return [version, sub, arch]


def manifest(lib: Path, version: int, security: int, boards: list[str],
             expires_days: float = 365, micropython_min: tuple[int, ...] = (1, 22)) -> dict:
    files = []
    for f in sorted(lib.glob("*.mpy")):
        data = f.read_bytes()
        entry: list = [f.name, len(data), hashlib.sha256(data).hexdigest()]
        if len(data) > CHUNK:
            entry.append([hashlib.sha256(data[i:i + CHUNK]).hexdigest()[:32]
                          for i in range(0, len(data), CHUNK)])
        files.append(entry)
    return {"type": RELEASE_TYPE, "version": version, "security": security,
            "expires": int(time.time() + expires_days * 86400),
            "target": {"boards": boards, "mpy": mpy_abi(lib),
                       "micropython_min": list(micropython_min)},
            "chunk": CHUNK, "files": files}


def build(lib: Path, releases: Path, target: str, version: int, security: int,
          boards: list[str], expires_days: float = 365) -> Path:
    """Release `version` of `lib` into releases/<target>/<version>/: the files and an unsigned
    manifest.json (`sign` makes it a release the update service offers)."""
    out = releases / target / str(version)
    if out.exists():
        raise TrustError(f"release {version} for {target} exists ({out}): versions only rise")
    older = [int(p.name) for p in (releases / target).glob("*") if p.name.isdigit()]
    if older and version <= max(older):
        raise TrustError(f"release {version} is not above {max(older)}: versions only rise")
    doc = manifest(lib, version, security, boards, expires_days)
    body = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    if len(body) > MAX_MANIFEST:
        raise TrustError(f"the manifest is {len(body)} bytes, over the node's {MAX_MANIFEST}")
    (out / "files").mkdir(parents=True)
    for entry in doc["files"]:
        shutil.copy2(lib / entry[0], out / "files" / entry[0])
    (out / "manifest.json").write_bytes(body)
    return out


def sign(store: TrustStore, folder: Path) -> Path:
    """manifest.sns: the built manifest's exact bytes under the release key(s), after checking
    that the files are still the ones it names."""
    body = (folder / "manifest.json").read_bytes()
    for name, size, digest, *_ in json.loads(body)["files"]:
        data = (folder / "files" / name).read_bytes()
        if len(data) != size or hashlib.sha256(data).hexdigest() != digest:
            raise TrustError(f"{folder / 'files' / name} changed since the release was built")
    out = folder / "manifest.sns"
    out.write_bytes(wrap(body, store.signers("release")))
    return out


def publish(store: TrustStore, lib: Path, releases: Path, target: str, version: int,
            security: int, boards: list[str], expires_days: float = 365) -> Path:
    """build and sign in one step."""
    out = build(lib, releases, target, version, security, boards, expires_days)
    sign(store, out)
    return out


def newest(releases: Path, target: str) -> int | None:
    found = [int(p.name) for p in (releases / target).glob("*")
             if p.name.isdigit() and (p / "manifest.sns").exists()]
    return max(found) if found else None


def timestamp(store: TrustStore, releases: Path, target: str, ttl_s: float = 86400,
              now: float | None = None) -> bytes:
    """A statement, signed by the timestamp key, naming the newest release of `target` and
    its manifest's hash; its version is the time it was made (seconds since the node's epoch),
    so it never goes backwards."""
    version = newest(releases, target)
    if version is None:
        raise TrustError(f"no release for {target} in {releases}")
    body, _ = unwrap((releases / target / str(version) / "manifest.sns").read_bytes())
    now = time.time() if now is None else now
    doc = {"type": TIMESTAMP_TYPE, "version": int(now) - EPOCH, "release": version,
           "manifest": hashlib.sha256(body).hexdigest(), "expires": int(now + ttl_s)}
    return wrap(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode(),
                store.signers("timestamp"))
