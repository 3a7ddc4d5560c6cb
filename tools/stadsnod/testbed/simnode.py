"""Simulated nodes: each a MicroPython unix-port process running the built firmware, with its
own filesystem folder (config.json, certs/, sim.json) and fake hardware from host_tests/fakes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core.paths import BUILD, micropypath, micropython, unix_target
from .worlds import DEFAULT_HEAP

# How a simulated node ends a boot (host_tests/fakes/simworld.py) and the machine.reset_cause()
# value its next boot reports.
_EXIT_RESET, _EXIT_DEEPSLEEP = 3, 4
_HARD_RESET, _WDT_RESET, _DEEPSLEEP_RESET = 2, 3, 4

def node_config(device_id: str, broker_port: int, ntp_port: int, *, interval_s: float = 10,
                every_s: float = 2, health_s: float = 30, sensors: list | None = None,
                hostname: str = "broker.stadsnod.local", keepalive_s: int = 30,
                **extra) -> dict:
    """A node's config.json; `extra` adds or replaces top-level fields (watchdog_s, queue...)."""
    return {
        "device_id": device_id,
        "board": "host",
        "topic_root": "stadsnod",
        "wifi": {"ssid": "stadsnod-sim", "psk": "not-a-real-secret"},
        # the first retry after a lost connection within 2 s, not a city's 10: tests wait less
        "broker": {"host": "127.0.0.1", "port": broker_port, "server_hostname": hostname,
                   "keepalive_s": keepalive_s, "reconnect_spread_s": 2},
        "ntp": {"host": "127.0.0.1", "port": ntp_port},
        "interval_s": interval_s,
        "health_s": health_s,
        "sensors": sensors if sensors is not None else
        [{"driver": "bme280", "bus": "i2c0", "address": 0x76, "every_s": every_s}],
    } | extra


@dataclass
class SimNode:
    """One simulated board. Its launcher plays the hardware around the CPU: it reboots the node
    after machine.reset() or deep sleep, and its watchdog resets a node that stops feeding
    (the fake WDT touches sim/wdt at each feed)."""

    device_id: str
    dir: Path
    config: dict
    world: dict
    heap: str = DEFAULT_HEAP
    proc: subprocess.Popen | None = field(default=None, repr=False)
    resets: list[int] = field(default_factory=list)  # reset causes of the reboots so far
    # a ROMFS image of the build (core/build.romfs_image): the node imports its modules from it
    # in place, as a board with a ROM partition does, instead of loading them into the heap
    romfs: Path | None = None
    # how often the supervisor reads the node's watchdog file: a fleet of hundreds of nodes
    # with 30 s watchdogs needs no look every 0.1 s
    watchdog_check_s: float = 0.1

    def __post_init__(self) -> None:
        # absolute: the node runs in its folder, and reads sim.json by the path given to it
        self.dir = Path(self.dir).absolute()

    def prepare(self) -> SimNode:
        (self.dir / "sim").mkdir(parents=True, exist_ok=True)
        (self.dir / "config.json").write_text(json.dumps(self.config, indent=1))
        (self.dir / "sim.json").write_text(json.dumps(self.world, indent=1))
        return self

    @property
    def log_path(self) -> Path:
        return self.dir / "console.log"

    def start(self) -> SimNode:
        self._stopping = False
        self._lock = threading.Lock()
        self._wdt_checked = 0.0
        self._launch(None)
        _SUPERVISOR.add(self)
        return self

    def _launch(self, cause: int | None) -> None:
        # The node's own lib/ comes before the build, as /lib does on a board's flash: what is
        # deployed there (a board definition, say) is what the node runs.
        path = micropypath(self.dir / "lib")
        mount = ""
        if self.romfs is not None:
            # the image is read into the heap here (a board maps its flash partition instead):
            # the heap grows by its size below, and the bench takes its size off
            # (budget.romfs_heap_bytes)
            path = micropypath(self.dir / "lib", firmware="/rom")
            mount = (f"import vfs\n_f = open('{self.romfs}', 'rb')\n_romfs = _f.read()\n"
                     "_f.close()\ndel _f\nvfs.mount(vfs.VfsRom(_romfs), '/rom')\n")
        env = dict(os.environ, MICROPYPATH=path, STADSNOD_SIM=str(self.dir / "sim.json"))
        if cause is not None:
            env["STADSNOD_RESET_CAUSE"] = str(cause)
        (self.dir / "sim" / "wdt").unlink(missing_ok=True)  # a watchdog starts stopped
        boot = BUILD / unix_target()
        # A board runs boot.py then main.py from its filesystem root; so does the simulated one.
        code = mount + f"exec(open('{boot}/boot.py').read())\nexec(open('{boot}/main.py').read())"
        self.log = open(self.log_path, "ab")
        heap = self.world.get("heap") or self.heap  # a board's world names its RAM
        if self.romfs is not None:  # the image's copy is not the node's heap: a board maps it
            heap = f"{int(heap[:-1]) + self.romfs.stat().st_size // 1024 + 1}K"
        self.proc = subprocess.Popen([micropython(), "-X", f"heapsize={heap}", "-c", code],
                                     cwd=self.dir, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def _watchdog_expired(self) -> bool:
        wdt = self.dir / "sim" / "wdt"
        try:
            timeout_s = int(wdt.read_text()) / 1000
            return time.time() - wdt.stat().st_mtime > timeout_s
        except (OSError, ValueError):
            return False  # not started, or caught in the middle of a feed's rewrite

    def _check(self) -> None:
        """The supervisor's look at this node: reboot it after machine.reset(), deep sleep or
        a watchdog that expired; leave it down after a crash, for the tests to see."""
        with self._lock:
            proc = self.proc
            if proc is None or self._stopping:
                return
            rc = proc.poll()
            if rc is None:
                now = time.monotonic()
                if now - self._wdt_checked < self.watchdog_check_s:
                    return
                self._wdt_checked = now
                if not self._watchdog_expired():
                    return
                cause = _WDT_RESET
                self._kill(proc)
            elif rc in (_EXIT_RESET, _EXIT_DEEPSLEEP):
                cause = _HARD_RESET if rc == _EXIT_RESET else _DEEPSLEEP_RESET
            else:
                _SUPERVISOR.discard(self)
                return
            self.log.close()
            self.resets.append(cause)
            self._launch(cause)

    @staticmethod
    def _kill(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def set_fault(self, key: str, fault: str | None) -> None:
        """Switch a live fault: key like 'i2c0-0x76', fault nack|stuck|garbage|unplugged|crc|
        range, or freeze (the bus hangs the CPU)."""
        path = self.dir / "sim" / f"{key}.fault"
        if fault:
            path.write_text(fault)
        else:
            path.unlink(missing_ok=True)

    def set_wifi(self, up: bool) -> None:
        path = self.dir / "sim" / "wifi.down"
        if up:
            path.unlink(missing_ok=True)
        else:
            path.write_text("down")

    def console(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        _SUPERVISOR.discard(self)
        with getattr(self, "_lock", threading.Lock()):
            self._stopping = True
            if self.proc and self.proc.poll() is None:
                self._kill(self.proc, sig)
            if self.proc:
                self.log.close()
            self.proc = None


class _Supervisor:
    """One thread for every started node (a fleet of a thousand has no thousand threads): ten
    times a second it asks each node's process whether it is still running."""

    def __init__(self) -> None:
        self._nodes: dict[int, SimNode] = {}  # by id(): a dataclass node has no hash
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, node: SimNode) -> None:
        with self._lock:
            self._nodes[id(node)] = node
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="simnode-supervisor")
                self._thread.start()

    def discard(self, node: SimNode) -> None:
        with self._lock:
            self._nodes.pop(id(node), None)

    def _run(self) -> None:
        while True:
            time.sleep(0.1)
            with self._lock:
                nodes = list(self._nodes.values())
            for node in nodes:
                node._check()


_SUPERVISOR = _Supervisor()


def provision_sim_node(folder: Path, device_id: str, pki, broker_port: int, ntp_port: int, *,
                       world: dict, heap: str = DEFAULT_HEAP, certs: bool = True,
                       **cfg) -> SimNode:
    """A prepared (not started) node in `folder`: config, fake world and, unless certs=False,
    a device identity from `pki` (a city.DemoCity, or a broker.DemoPKI)."""
    node = SimNode(device_id, folder, node_config(device_id, broker_port, ntp_port, **cfg),
                   world, heap=heap)
    node.prepare()
    if certs:
        pki.device(device_id, node.dir / "certs")
    return node
