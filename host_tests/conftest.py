"""Test bed wiring: CPython shims for firmware modules, the MicroPython runner that turns
host_tests/device/mpy_test_*.py functions into pytest items, and the broker fixtures."""

from __future__ import annotations

import ast
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT)]
from stadsnod.core.paths import FAKES, device_source_dirs, module_dirs  # noqa: E402

# Firmware modules import each other by bare name (the device's lib/ is flat): every room of
# device code and of the fakes goes on the path.
sys.path[2:2] = [str(ROOT / "host_tests" / "cpython_shims"),
                 *(str(d) for d in device_source_dirs()),
                 str(ROOT / "host_tests" / "device"), *(str(d) for d in module_dirs(FAKES))]

# MicroPython's time.ticks_* on CPython, for pure-logic firmware modules and shared tests.
_PERIOD = 1 << 30
if not hasattr(time, "ticks_ms"):
    time.ticks_ms = lambda: int(time.monotonic() * 1000) & (_PERIOD - 1)
    time.ticks_add = lambda t, d: (t + d) & (_PERIOD - 1)

    def _ticks_diff(a: int, b: int) -> int:
        d = (a - b) & (_PERIOD - 1)
        return d - _PERIOD if d >= _PERIOD >> 1 else d

    time.ticks_diff = _ticks_diff
    time.sleep_ms = lambda ms: time.sleep(ms / 1000)
    time.sleep_us = lambda us: time.sleep(us / 1e6)

from stadsnod.core.build import build  # noqa: E402
from stadsnod.core.mpyrun import run_device_test  # noqa: E402


def pytest_sessionstart(session: pytest.Session) -> None:
    """Tests run the built .mpy files; make them current before any test (MicroPython items
    take no fixtures, so this cannot be a fixture). Under pytest-xdist the controller builds
    once, before its workers start; they only read the build."""
    if hasattr(session.config, "workerinput"):
        return
    build(quiet=True)


# -- MicroPython device tests -------------------------------------------------------------------

def pytest_collect_file(parent: pytest.Collector, file_path: Path):
    if file_path.suffix == ".py" and file_path.name.startswith("mpy_test_"):
        return MicroPythonFile.from_parent(parent, path=file_path)
    return None


class MicroPythonFile(pytest.File):
    def collect(self):
        tree = ast.parse(self.path.read_text())
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                    node.name.startswith("test_"):
                yield MicroPythonItem.from_parent(self, name=node.name)


class MicroPythonItem(pytest.Item):
    def runtest(self) -> None:
        ok, output = run_device_test(self.path, self.name)
        if not ok:
            raise MicroPythonFailure(output)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, MicroPythonFailure):
            return f"under MicroPython:\n{excinfo.value.args[0]}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"micropython: {self.name}"


class MicroPythonFailure(Exception):
    pass


# -- the real broker ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def demo_pki(tmp_path_factory):
    from stadsnod.testbed.demo_city import DemoCity

    return DemoCity.create(tmp_path_factory.mktemp("pki") / "city")


@pytest.fixture(scope="session")
def broker(demo_pki, tmp_path_factory):
    from stadsnod.testbed.broker import Broker

    with Broker(tmp_path_factory.mktemp("broker"), demo_pki) as b:
        yield b


@pytest.fixture(scope="session")
def sntp():
    from stadsnod.testbed.sntp import SNTPServer

    with SNTPServer() as s:
        yield s


@pytest.fixture
def platform(broker):
    from stadsnod.testbed.platform import Platform

    p = Platform(broker).start()
    yield p
    p.stop()


@pytest.fixture
def make_node(tmp_path, demo_pki, broker, sntp):
    """make_node(device_id, **config overrides) -> a prepared SimNode (not started)."""
    from stadsnod.testbed.simnode import provision_sim_node
    from stadsnod.testbed.worlds import sim_world

    nodes = []

    def make(device_id="node-1", world=None, certs=True, port=None, **cfg):
        opts = {"interval_s": 1, "every_s": 0.25, "health_s": 1, "keepalive_s": 10}
        opts.update(cfg)
        node = provision_sim_node(tmp_path / device_id, device_id, demo_pki,
                                  port or broker.port, sntp.port,
                                  world=world or sim_world(len(nodes)), certs=certs, **opts)
        nodes.append(node)
        return node

    yield make
    for n in nodes:
        n.stop()


@pytest.fixture
def updates(tmp_path, demo_pki, broker):
    """The city's update service on the test broker, serving releases from tmp_path."""
    from stadsnod.cityit.update_service import UpdateService

    service = UpdateService("127.0.0.1", broker.port, demo_pki.ca_pem,
                            demo_pki.dir / "platform.pem", demo_pki.dir / "platform.key",
                            "stadsnod", tmp_path / "releases", demo_pki.trust()).start()
    yield service
    service.stop()
