"""Compile firmware/, drivers/ and boards/ with mpy-cross for each target.

The source folders are rooms by concern (firmware/link, drivers/air_quality, ...); the device
gets one flat lib/, so module names are unique across every room and imports are bare names.

build/<target>/boot.py, main.py   -- run by name on a board, kept as source
build/<target>/lib/<module>.mpy   -- everything else (lib/ is on a board's default sys.path)
build/<target>/lib/<module>_bc.mpy -- for a module with viper code: the same source as plain
                                     bytecode, the fallback that must give identical results
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .paths import (
    BUILD,
    FAKES,
    ROOT,
    ROOT_FILES,
    SOURCE_DIRS,
    TARGETS,
    ToolError,
    build_target,
    module_dirs,
    unix_target,
    venv_tool,
)


def sources() -> list[Path]:
    files = []
    for d in SOURCE_DIRS:
        for room in module_dirs(ROOT / d):
            files += sorted(room.glob("*.py"))
    seen: dict[str, Path] = {}
    for f in files:
        if f.name in seen:
            raise ToolError(f"module name {f.name} is used twice ({seen[f.name].relative_to(ROOT)}"
                            f" and {f.relative_to(ROOT)}): the device's lib/ is flat, rename one")
        seen[f.name] = f
    return files


def built_as(out: Path, src: Path) -> Path:
    """Where build/<target> (`out`) keeps a device source: boot.py and main.py by name, kept
    as source; every other module compiled into lib/."""
    return out / src.name if src.name in ROOT_FILES else out / "lib" / (src.stem + ".mpy")


def _fresh(src: Path, dst: Path) -> bool:
    """dst exists and was made from src as it is now (not older than it)."""
    return dst.exists() and dst.stat().st_mtime >= src.stat().st_mtime


def stale_source(target: str) -> Path | None:
    """A device or fake source newer than what build/<target> (or build/fakes) holds of it,
    else None: a simulation would run old code without a word."""
    pairs = [(src, built_as(BUILD / target, src)) for src in sources()]
    pairs += [(src, BUILD / "fakes" / rel) for src, rel in fake_sources()]
    return next((src for src, built in pairs if not _fresh(src, built)), None)


def fake_sources() -> list[tuple[Path, Path]]:
    """(source, path under build/fakes/) of every fake: rooms flattened, packages (the fake
    `machine`) kept as packages."""
    out = []
    for room in module_dirs(FAKES):
        for src in sorted(room.glob("*.py")):
            out.append((src, Path(src.stem + ".mpy")))
        for pkg in sorted(p for p in room.iterdir() if (p / "__init__.py").exists()):
            for src in sorted(pkg.rglob("*.py")):
                out.append((src, src.relative_to(room).with_suffix(".mpy")))
    return out


# Device code ships at -O3: no asserts (as -O1) and no line numbers. A module imported from a
# board's filesystem is copied into the GC heap, and its line-number tables cost the bench node
# 1,952 B of the board VM's heap (1.7 % of an ESP32's); tracebacks still name the module and the
# function. STADSNOD_LINES=1 builds with line numbers (-O1) for chasing a traceback.
def device_opt() -> int:
    return 1 if os.environ.get("STADSNOD_LINES") == "1" else 3


def _same_opt(out: Path, opt: int) -> None:
    """A build made at another optimisation level is compiled again from scratch."""
    stamp = out / "opt"
    if stamp.exists() and stamp.read_text().strip() == str(opt):
        return
    for old in (out / "lib").glob("*.mpy"):
        old.unlink()
    stamp.write_text(f"{opt}\n")


def build(targets: list[str] | None = None, quiet: bool = False) -> dict[str, int]:
    """Returns total .mpy bytes per target. Recompiles only what changed. By default: the
    test bed's VM (unix, or unix32 for the board VM) and the boards' targets."""
    mpy_cross = venv_tool("mpy-cross")
    sizes = {}
    if not targets:
        targets = [unix_target(), "esp32", "rp2"]
    for target in map(build_target, targets):
        arch = TARGETS[target]
        out = BUILD / target
        lib = out / "lib"
        lib.mkdir(parents=True, exist_ok=True)
        opt = device_opt()
        _same_opt(out, opt)
        wanted = set()
        total = 0
        compiled = 0
        for src in sources():
            dst = built_as(out, src)
            if src.name in ROOT_FILES:
                if not _fresh(src, dst):
                    shutil.copy2(src, dst)
                continue
            wanted.add(dst.name)
            compiled += _compile(mpy_cross, src, dst, arch, opt)
            total += dst.stat().st_size
            if VIPER in src.read_text():
                fallback = bytecode_fallback(src)
                dst = lib / (fallback.stem + ".mpy")
                wanted.add(dst.name)
                compiled += _compile(mpy_cross, fallback, dst, arch, opt)
                total += dst.stat().st_size
        for stale in lib.glob("*.mpy"):
            if stale.name not in wanted:
                stale.unlink()
        sizes[target] = total
        if not quiet:
            print(f"build/{target}: {len(wanted)} modules, {compiled} compiled, {total} bytes")
    # The fakes are compiled too, so the simulated node's heap is not spent compiling them.
    fakes = fake_sources()
    for src, rel in fakes:
        _compile(mpy_cross, src, BUILD / "fakes" / rel, None, opt=0)
    wanted_fakes = {BUILD / "fakes" / rel for _src, rel in fakes}
    for stale in (BUILD / "fakes").rglob("*.mpy"):
        if stale not in wanted_fakes:
            stale.unlink()  # a fake moved or split (machine.mpy would shadow machine/)
    return sizes


VIPER = "@micropython.viper"
# What viper's pointer casts mean to plain bytecode: indexing the buffer itself gives the same
# values for the ways the kernels use them (bytes from a bytearray, words from an array).
_FALLBACK_PRELUDE = "def ptr8(b):\n    return b\n\n\nptr16 = ptr32 = ptr8\n"


def bytecode_fallback(src: Path) -> Path:
    """build/gen/<stem>_bc.py: src without its viper decorators."""
    out = BUILD / "gen" / (src.stem + "_bc.py")
    text = src.read_text()
    if _fresh(src, out):
        return out
    lines = [line for line in text.splitlines() if line.strip() != VIPER]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_FALLBACK_PRELUDE + "\n".join(lines) + "\n")
    return out


def _compile(mpy_cross: str, src: Path, dst: Path, arch: str | None, opt: int) -> bool:
    """mpy-cross src -> dst when dst is missing or older; True when it compiled. The fakes keep
    theirs at -O0 -- the scenarios' checks are asserts, and -O1 would compile them away."""
    if _fresh(src, dst):
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    cmd = [mpy_cross, f"-O{opt}", "-s", src.name, "-o", str(dst)]
    if arch:
        cmd.insert(1, f"-march={arch}")
    cmd.append(str(src))
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise ToolError(f"mpy-cross failed on {src.relative_to(ROOT)} ({arch}):\n{r.stderr}")
    return True


def romfs_image(target: str) -> Path:
    """build/<target>.romfs: the target's lib/ as a ROMFS image (MicroPython's read-only,
    memory-mapped filesystem; mpremote's builder). A board with a ROM partition imports
    `.mpy` from it in place: bytecode and constants stay in flash instead of the heap."""
    import contextlib
    import io

    from mpremote.romfs import make_romfs

    lib = BUILD / target / "lib"
    if not lib.is_dir():
        raise ToolError(f"{lib} is missing: run `stadsnod build` first")
    out = BUILD / f"{target}.romfs"
    with contextlib.redirect_stdout(io.StringIO()):  # it lists every file it adds
        image = make_romfs(str(lib), mpy_cross=False)
    out.write_bytes(image)
    return out
