# Boot sequence of a node: config, identity, board, runtime. Whatever goes wrong is logged with
# a reason and retried after a pause -- the node never crash-loops and never exits on its own.
import asyncio
import sys

import store
from hal import Board, BoardError
from log import Log
from node import Node

RETRY_MS = 10000
# A pause feeds the hardware watchdog in steps shorter than any chip's longest timeout (RP2040:
# 8388 ms), so a runtime being restarted is not reset by the watchdog it started.
_STEP_MS = 1000


def _load_config(log):
    # The validator is needed only at boot; dropping the module afterwards gives its ~8 KB of
    # RAM back to the runtime.
    import config

    try:
        cfg = config.load(store.read_text, store.write_atomic, log)
        if cfg is not None:
            log.level = config.LOG_LEVELS.index(cfg["log_level"])
        return cfg
    finally:
        del sys.modules["config"]


async def pause(ms, wdt=None):
    """Sleeps `ms`, feeding the hardware watchdog (if one was started) every _STEP_MS."""
    while ms > 0:
        if wdt is not None:
            wdt.feed()
        step = min(ms, _STEP_MS)
        await asyncio.sleep_ms(step)
        ms -= step


async def _wait_for_config(log, wdt=None):
    while True:
        cfg = _load_config(log)
        if cfg is not None:
            return cfg
        log.error("boot", "no usable config; checking again in %d s" % (RETRY_MS // 1000))
        await pause(RETRY_MS, wdt)


async def boot(log):
    cfg = await _wait_for_config(log)
    wdt = None  # the hardware watchdog, once a runtime has started it (it cannot be stopped)
    while True:
        # a runtime at a time, each in a coroutine that ends: nothing of the old node, or of
        # the error that stopped it, stays referenced from this loop (ARCHITECTURE.md)
        cfg, wdt = await _runtime(cfg, log, wdt)


async def _runtime(cfg, log, wdt):
    """Builds a node, runs it until it stops, stops it cleanly and pauses. Returns the config
    for the next one and the watchdog."""
    try:
        board = Board(cfg["board"])
        node = Node(cfg, board, log)
    except (BoardError, ValueError) as e:
        log.error("boot", "%s; fix config.json" % e)
        await pause(RETRY_MS, wdt)
        return await _wait_for_config(log, wdt), wdt
    uid = "".join("%02x" % b for b in board.unique_id())
    log.info("boot", "node %s on board %s (uid %s, reset cause %d), %d sensor(s)"
             % (node.id, board.name, uid, board.reset_cause(), len(node.sensors)))
    try:
        await node.run()
    except Exception as e:  # a runtime bug must not take the node down for good
        log.error("boot", "runtime stopped: %r; restarting in %d s" % (e, RETRY_MS // 1000))
        sys.print_exception(e)
    wdt = node.watchdog.wdt or wdt
    try:  # the old runtime's session and TLS socket go before a new one is built
        await node.stop()
    except Exception as e:
        log.error("boot", "stopping the runtime: %r" % e)
    await pause(RETRY_MS, wdt)
    return cfg, wdt


def main():
    log = Log()
    try:
        asyncio.run(boot(log))
    except KeyboardInterrupt:
        log.info("boot", "stopped")
