"""Hypothesis-generated schedules of appends, sends and a power cut for the flash spool. The
spool runs under MicroPython on littlefs over the fake flash (fakes/flash/powercut.py); one
worker process serves every example. The invariant is the one the exhaustive device test checks:
each stored reading is delivered (duplicates allowed), no sequence number is reused, the node
boots."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stadsnod.core.paths import micropypath, micropython


@pytest.fixture(scope="module")
def worker():
    p = subprocess.Popen([micropython(), "-X", "heapsize=2M", "-c",
                          "import powercut; powercut.serve()"],
                         env=dict(os.environ, MICROPYPATH=micropypath()), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    yield p
    p.stdin.close()
    p.wait(10)


def ask(worker, ops: list, cut: int | None) -> dict:
    worker.stdin.write(json.dumps([ops, cut]) + "\n")
    worker.stdin.flush()
    while True:
        line = worker.stdout.readline()
        assert line, "the MicroPython worker died"
        if line.startswith("RESULT "):
            return json.loads(line[7:])


ops = st.lists(st.one_of(st.just("a"), st.integers(1, 6)), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops, st.integers(0, 400))
def test_power_cut_anywhere_in_any_schedule(worker, schedule: list, cut: int) -> None:
    r = ask(worker, schedule, cut)
    assert r["why"] is None, (r, schedule, cut)
