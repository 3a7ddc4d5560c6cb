# Boot sequence of a node: config, identity, board, runtime. Whatever goes wrong is logged with
# a reason and retried after a pause -- the node never crash-loops and never exits on its own.
import asyncio
import sys

import store
from hal import Board, BoardError
from log import Log
from node import Node

RETRY_MS = 10000


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


async def _wait_for_config(log):
    while True:
        cfg = _load_config(log)
        if cfg is not None:
            return cfg
        log.error("boot", "no usable config; checking again in %d s" % (RETRY_MS // 1000))
        await asyncio.sleep_ms(RETRY_MS)


async def boot(log):
    cfg = await _wait_for_config(log)
    while True:
        try:
            board = Board(cfg["board"])
            node = Node(cfg, board, log)
        except (BoardError, ValueError) as e:
            log.error("boot", "%s; fix config.json" % e)
            await asyncio.sleep_ms(RETRY_MS)
            cfg = await _wait_for_config(log)
            continue
        uid = "".join("%02x" % b for b in board.unique_id())
        log.info("boot", "node %s on board %s (uid %s, reset cause %d), %d sensor(s)"
                 % (node.id, board.name, uid, board.reset_cause(), len(node.sensors)))
        try:
            await node.run()
        except Exception as e:  # a runtime bug must not take the node down for good
            log.error("boot", "runtime stopped: %r; restarting in %d s" % (e, RETRY_MS // 1000))
            sys.print_exception(e)
            await asyncio.sleep_ms(RETRY_MS)


def main():
    log = Log()
    try:
        asyncio.run(boot(log))
    except KeyboardInterrupt:
        log.info("boot", "stopped")
