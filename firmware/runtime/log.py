# Node logging: one line per event on the console, the last warning or error kept for /health.
from micropython import const
from time import ticks_ms

_LEVELS = ("debug", "info", "warning", "error")  # same order as config.LOG_LEVELS
_PROBLEM_MAX = const(96)  # bytes of the last problem health reports


class Log:
    def __init__(self, level="info"):
        self.level = _LEVELS.index(level)
        # In a buffer taken at boot, not a string per warning: a node that has seen no problem
        # yet and one that has seen thousands hold the same heap (the soak's growth was this).
        self._problem = bytearray(_PROBLEM_MAX)
        self._problem_len = 0

    def _emit(self, lvl, where, msg):
        if lvl >= 2:
            self._keep("%s: %s" % (where, msg))
        if lvl >= self.level:
            print("%d %s %s: %s" % (ticks_ms(), _LEVELS[lvl], where, msg))

    def _keep(self, text):
        raw = text.encode()
        n = min(len(raw), _PROBLEM_MAX)
        while n < len(raw) and n and raw[n] & 0xC0 == 0x80:  # not inside a UTF-8 character
            n -= 1
        self._problem[:n] = raw[:n]
        self._problem_len = n

    def debug(self, where, msg):
        self._emit(0, where, msg)

    def info(self, where, msg):
        self._emit(1, where, msg)

    def warning(self, where, msg):
        self._emit(2, where, msg)

    def error(self, where, msg):
        self._emit(3, where, msg)

    def last_problem(self):
        return str(memoryview(self._problem)[:self._problem_len], "utf-8")
