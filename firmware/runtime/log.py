# Node logging: one line per event on the console, the recent errors kept for /health.
from time import ticks_ms

_LEVELS = ("debug", "info", "warning", "error")  # same order as config.LOG_LEVELS


class Log:
    def __init__(self, level="info", keep=4):
        self.level = _LEVELS.index(level)
        self.recent = []  # last `keep` warnings/errors, newest last
        self.keep = keep

    def _emit(self, lvl, where, msg):
        if lvl >= 2:
            if len(self.recent) >= self.keep:
                self.recent.pop(0)
            self.recent.append("%s: %s" % (where, msg))
        if lvl >= self.level:
            print("%d %s %s: %s" % (ticks_ms(), _LEVELS[lvl], where, msg))

    def debug(self, where, msg):
        self._emit(0, where, msg)

    def info(self, where, msg):
        self._emit(1, where, msg)

    def warning(self, where, msg):
        self._emit(2, where, msg)

    def error(self, where, msg):
        self._emit(3, where, msg)

    def last_problem(self):
        return self.recent[-1] if self.recent else ""
