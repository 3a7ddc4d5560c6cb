"""Releases: a build's lib/ as a signed manifest (release key) and its files, and the short-lived
timestamp statements (timestamp key) that say which release is the newest. The node's side is
firmware/updates/ (release.py checks what is made here).

    <releases>/<target>/<version>/manifest.json  the manifest, as built
    <releases>/<target>/<version>/index.txt      the file list the manifest names by hash
    <releases>/<target>/<version>/manifest.sns   the same bytes signed (an envelope)
    <releases>/<target>/<version>/files/<name>   the files, as the node stores them
    <releases>/<target>/<version>/firmware/      optionally an ESP32 firmware image
                                                 (firmware.bin) and its piece list
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


def index(lib: Path) -> bytes:
    """The release's file list, one line a file: `name length sha256 [piece hashes]`, each
    piece hash the first 16 bytes of SHA-256 over 1 KB, comma-separated. The node reads it
    from flash line by line: a release of any size costs its heap one line."""
    lines = []
    for f in sorted(lib.glob("*.mpy")):
        data = f.read_bytes()
        line = f"{f.name} {len(data)} {hashlib.sha256(data).hexdigest()}"
        if len(data) > CHUNK:
            line += " " + ",".join(hashlib.sha256(data[i:i + CHUNK]).hexdigest()[:32]
                                   for i in range(0, len(data), CHUNK))
        lines.append(line + "\n")
    return "".join(lines).encode()


IMAGE_CHIPS = {"esp32": "ESP32FirmwareImage", "esp32s3": "ESP32S3FirmwareImage"}


def image_chip(image: Path) -> str:
    """The chip an ESP-IDF app image is built for (its extended header's chip id)."""
    import esptool.bin_image as esp_image

    head = image.read_bytes()[:24]
    if len(head) < 24 or head[0] != 0xE9:
        raise TrustError(f"{image} is not an ESP-IDF app image (no 0xE9 magic byte)")
    chip_id = int.from_bytes(head[12:14], "little")
    for chip, cls in IMAGE_CHIPS.items():
        if getattr(esp_image, cls).ROM_LOADER.IMAGE_CHIP_ID == chip_id:
            return chip
    raise TrustError(f"{image} is for chip id {chip_id}, not an ESP32 or ESP32-S3")


def firmware(image: Path, boards: list[str], chip: str) -> tuple[dict, bytes]:
    """The manifest's firmware entry for an ESP-IDF app image (MicroPython built for `chip`
    with an OTA partition table) and its piece list: one line a 1 KB piece, the first 16 bytes
    of its SHA-256 in hex (fixed width: the node seeks to line c). The image is parsed with
    esptool first; one that would not boot is refused here, not on a node."""
    import esptool.bin_image as esp_image

    if chip not in IMAGE_CHIPS:
        raise TrustError(f"firmware over the air is for ESP32 boards, not {chip} (a Pico W "
                         "takes app releases only)")
    data = image.read_bytes()
    try:
        img = esp_image.LoadFirmwareImage(chip, data)
    except Exception as e:  # esptool's FatalError and struct errors alike
        raise TrustError(f"{image} is not an {chip} app image: {e}") from e
    want = getattr(esp_image, IMAGE_CHIPS[chip]).ROM_LOADER.IMAGE_CHIP_ID
    if img.chip_id != want:
        raise TrustError(f"{image} is built for chip id {img.chip_id}, not {chip} ({want})")
    if img.checksum != img.calculate_checksum() or not img.append_digest \
            or img.stored_digest != img.calc_digest:
        raise TrustError(f"{image} fails its own checksum or SHA-256: a damaged image")
    pieces = "".join(hashlib.sha256(data[i:i + CHUNK]).hexdigest()[:32] + "\n"
                     for i in range(0, len(data), CHUNK)).encode()
    return {"boards": boards, "name": "firmware.bin", "length": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "pieces": {"name": "firmware.pieces", "length": len(pieces),
                       "sha256": hashlib.sha256(pieces).hexdigest()}}, pieces


def manifest(lib: Path, version: int, security: int, boards: list[str],
             expires_days: float = 365, micropython_min: tuple[int, ...] = (1, 22),
             files: bytes | None = None) -> dict:
    """The signed part: what the release is and is for, and the file list's length, count and
    SHA-256 (the list itself is index.txt, fetched and checked against them)."""
    files = index(lib) if files is None else files
    return {"type": RELEASE_TYPE, "version": version, "security": security,
            "expires": int(time.time() + expires_days * 86400),
            "target": {"boards": boards, "mpy": mpy_abi(lib),
                       "micropython_min": list(micropython_min)},
            "chunk": CHUNK, "index": {"length": len(files), "count": files.count(b"\n"),
                                      "sha256": hashlib.sha256(files).hexdigest()}}


def build(lib: Path, releases: Path, target: str, version: int, security: int,
          boards: list[str], expires_days: float = 365,
          image: tuple[Path, list[str], str] | None = None) -> Path:
    """Release `version` of `lib` into releases/<target>/<version>/: the files and an unsigned
    manifest.json (`sign` makes it a release the update service offers). `image`: (an ESP32
    firmware image, the boards that take it, their chip)."""
    out = releases / target / str(version)
    if out.exists():
        raise TrustError(f"release {version} for {target} exists ({out}): versions only rise")
    older = [int(p.name) for p in (releases / target).glob("*") if p.name.isdigit()]
    if older and version <= max(older):
        raise TrustError(f"release {version} is not above {max(older)}: versions only rise")
    files = index(lib)
    doc = manifest(lib, version, security, boards, expires_days, files=files)
    if image:
        doc["firmware"], pieces = firmware(*image)
    body = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    if len(body) > MAX_MANIFEST:
        raise TrustError(f"the manifest is {len(body)} bytes, over the node's {MAX_MANIFEST}")
    (out / "files").mkdir(parents=True)
    for f in sorted(lib.glob("*.mpy")):
        shutil.copy2(f, out / "files" / f.name)
    (out / "index.txt").write_bytes(files)
    if image:
        (out / "firmware").mkdir()
        shutil.copy2(image[0], out / "firmware" / "firmware.bin")
        (out / "firmware" / "firmware.pieces").write_bytes(pieces)
    (out / "manifest.json").write_bytes(body)
    return out


def sign(store: TrustStore, folder: Path) -> Path:
    """manifest.sns: the built manifest's exact bytes under the release key(s), after checking
    that the files are still the ones it names."""
    body = (folder / "manifest.json").read_bytes()
    files = (folder / "index.txt").read_bytes()
    if hashlib.sha256(files).hexdigest() != json.loads(body)["index"]["sha256"]:
        raise TrustError(f"{folder / 'index.txt'} changed since the release was built")
    for line in files.decode().splitlines():
        name, size, digest = line.split()[:3]
        data = (folder / "files" / name).read_bytes()
        if len(data) != int(size) or hashlib.sha256(data).hexdigest() != digest:
            raise TrustError(f"{folder / 'files' / name} changed since the release was built")
    fw = json.loads(body).get("firmware")
    for part in ([fw, fw["pieces"]] if fw else []):
        data = (folder / "firmware" / part["name"]).read_bytes()
        if len(data) != part["length"] or hashlib.sha256(data).hexdigest() != part["sha256"]:
            raise TrustError(f"{folder / 'firmware' / part['name']} changed since the release "
                             "was built")
    out = folder / "manifest.sns"
    out.write_bytes(wrap(body, store.signers("release")))
    return out


def publish(store: TrustStore, lib: Path, releases: Path, target: str, version: int,
            security: int, boards: list[str], expires_days: float = 365,
            image: tuple[Path, list[str], str] | None = None) -> Path:
    """build and sign in one step."""
    out = build(lib, releases, target, version, security, boards, expires_days, image)
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
