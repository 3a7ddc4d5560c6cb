# The boot loop (firmware/runtime/app.py), under MicroPython: a runtime that stops is stopped
# cleanly (its session and socket closed) before the next one is built, and the pause between
# them feeds the hardware watchdog it started, so an RP2040 (8388 ms at most) is not reset.
import asyncio
import gc

import machine

import app

_events = []
_heap = []  # the live heap as each runtime starts
_HELD = 24000


class _Log:
    def info(self, *a):
        pass

    def error(self, *a):
        _events.append(("log", a[1]))


class _Watchdog:
    def __init__(self):
        self.wdt = None


class _Node:
    """Stands in for runtime/node.Node: the first runtime starts the watchdog and fails."""
    made = 0

    def __init__(self, cfg, board, log):
        _Node.made += 1
        self.n = _Node.made
        self.id = cfg["device_id"]
        self.sensors = []
        self.watchdog = _Watchdog()
        # the first runtime holds a lot (a real one: its TLS session, buffers, tasks)
        self.state = bytearray(_HELD if self.n == 1 else 0)

    async def run(self):
        _events.append(("run", self.n))
        gc.collect()
        _heap.append(gc.mem_alloc())
        if self.n == 1:
            self.watchdog.wdt = machine.WDT(0, timeout=1500)
            # the error holds its runtime: a boot loop that kept its last exception would keep
            # the whole runtime
            raise RuntimeError("a runtime bug", self)
        await asyncio.sleep_ms(100000)

    async def stop(self):
        _events.append(("stop", self.n))


async def _boot_until_second_runtime():
    _Node.made = 0
    _events.clear()
    _heap.clear()

    async def cfg(log, wdt=None):
        return {"device_id": "t-1", "board": "host"}

    app._wait_for_config = cfg
    app.Node = _Node
    app.RETRY_MS = 3000  # two watchdog timeouts long
    task = asyncio.create_task(app.boot(_Log()))
    while ("run", 2) not in _events:
        await asyncio.sleep_ms(50)
        wdt = machine.WDT.last
        assert wdt is None or not wdt.overdue(), "the watchdog would have reset the board"
    task.cancel()


def test_a_stopped_runtime_is_stopped_before_the_next_and_the_pause_feeds_the_watchdog():
    asyncio.run(_boot_until_second_runtime())
    order = [e for e in _events if e[0] in ("run", "stop")]
    assert order == [("run", 1), ("stop", 1), ("run", 2)], order
    assert any("runtime stopped" in e[1] for e in _events if e[0] == "log"), _events


def test_the_stopped_runtime_is_garbage_once_the_next_runs():
    """Nothing of the first runtime stays referenced from the boot loop (a MicroPython frame
    keeps its last stack slots): the second runs without the first's heap beside it."""
    asyncio.run(_boot_until_second_runtime())
    assert _heap[0] - _heap[1] > _HELD * 9 // 10, _heap
