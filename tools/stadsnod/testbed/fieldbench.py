"""Figures of the technician's path (make bench): deploy + provision + selftest on the virtual
board with its line throttled to 115200 baud, as over a board's USB-UART bridge, against the
city broker; and how many bytes the deploy sent."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from ..technician.deploy import deploy
from ..technician.provision import provision
from ..technician.selftest import selftest
from .broker import Broker, free_port
from .demo_city import DemoCity
from .sntp import SNTPServer
from .virtual_board import VirtualBoard
from .worlds import sim_world


def bench_technician(workdir: Path, baud: int = 115200) -> dict[str, float]:
    shutil.rmtree(workdir, ignore_errors=True)
    port = free_port()
    city = DemoCity.init(workdir / "pki", "127.0.0.1", port, "stadsnod", secret=DemoCity.SECRET)
    bundle = city.issue(["bench-lamp"], workdir / "bundles", progress=lambda _m: None)[0]
    board = workdir / "board"
    (board / "sim").mkdir(parents=True)
    (board / "sim.json").write_text(json.dumps(sim_world(0)))
    quiet = lambda _m: None  # noqa: E731
    with Broker(workdir / "broker", city, port=port), SNTPServer() as ntp, \
            VirtualBoard(board, world=board / "sim.json", baud=baud) as vb:
        start = time.perf_counter()
        sent = deploy("host", vb.port, say=quiet)
        provision(bundle, vb.port, city.bundle_key(),
                  (city.dir / "bundle-signing.pub.pem").read_bytes(), "host", "stadsnod-sim",
                  "not-a-real-secret", ntp=("127.0.0.1", ntp.port), say=quiet)
        checks = selftest(vb.port, say=quiet)
        took = time.perf_counter() - start
    city.close()
    failed = [c[0] for c in checks if not c[1]]
    if failed:
        from ..core.paths import ToolError

        raise ToolError(f"the bench self-test failed: {failed}")
    return {"technician_deploy_s": took, "deploy_bytes": sent["bytes"]}
