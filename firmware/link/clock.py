# Wall-clock time for the node, in integers: a board's floats are single precision (Unix
# seconds as a float32 step by 128 s) and its small ints end at 2**30, so time is kept as
# (seconds since EPOCH, milliseconds) -- both small ints until 2058 -- and uptime the same way.
# One SNTP query (sntp.py) sets a base; ticks_ms, unwrapped, carries it on. Until a sync
# succeeds the node stamps readings with its uptime and re-stamps them once the clock is known.
# A sync that disagrees with the running clock by more than JUMP_MS is a clock jump: counted
# and reported.
import asyncio
import sys

from time import ticks_diff, ticks_ms

EPOCH = 1704067200  # 2024-01-01T00:00:00Z in Unix seconds: the node's time is counted from here
JUMP_MS = 2000


class ClockError(Exception):
    pass


def unix_text(s, ms):
    """Unix seconds with milliseconds as SenML text ("1795790341.512"), from node time, in
    small-int arithmetic (EPOCH + s would be a long int on a board)."""
    hi, lo = divmod(67200 + s, 100000)  # EPOCH = 17040 * 100000 + 67200
    return "%d%05d.%03d" % (17040 + hi, lo, ms)


def ms_text(ms):
    """A duration in ms as SenML seconds ("-2.500")."""
    sign = "-" if ms < 0 else ""
    ms = -ms if ms < 0 else ms
    return "%s%d.%03d" % (sign, ms // 1000, ms % 1000)


class Clock:
    def __init__(self):
        self.synced = False
        self._up_s = 0  # uptime: seconds and milliseconds since boot
        self._up_ms = 0
        self._last_ticks = ticks_ms()
        self._base = (0, 0, 0, 0)  # node time (s, ms) at uptime (s, ms)
        self.jumps = 0
        self.last_jump_ms = 0

    def uptime(self):
        """(s, ms) since boot. ticks_ms wraps (2**30 ms on the boards); this does not, as long
        as it is read more often than every few days (the node reads it each interval)."""
        now = ticks_ms()
        ms = self._up_ms + ticks_diff(now, self._last_ticks)
        self._last_ticks = now
        self._up_s += ms // 1000
        self._up_ms = ms % 1000
        return self._up_s, self._up_ms

    def set(self, s, ms):
        """The clock reads (s, ms) since EPOCH now."""
        up_s, up_ms = self.uptime()
        if self.synced:
            was_s, was_ms = self.at(up_s, up_ms)
            jump = (s - was_s) * 1000 + (ms - was_ms)
            if jump > JUMP_MS or jump < -JUMP_MS:
                self.jumps += 1
                self.last_jump_ms = jump
        self._base = (s, ms, up_s, up_ms)
        self.synced = True

    def at(self, up_s, up_ms):
        """Node time (s, ms) at uptime (up_s, up_ms) of this boot (None while unsynchronised)."""
        if not self.synced:
            return None
        s, ms, base_up_s, base_up_ms = self._base
        ms += up_ms - base_up_ms
        s += up_s - base_up_s + ms // 1000
        return s, ms % 1000

    def now(self):
        """Node time (s, ms), or None while unsynchronised."""
        up_s, up_ms = self.uptime()
        return self.at(up_s, up_ms)

    async def sync(self, host, port=123, timeout_ms=3000):
        import sntp  # needed once per resync; its RAM goes back afterwards

        try:
            s, ms = await sntp.query(host, port, timeout_ms)
        finally:
            del sys.modules["sntp"]
        self.set(s, ms)


async def keep_synced(clock, net, ntp, log):
    """The clock's task: a sync every resync_s, retried within 10 s after a failure; a jump
    is logged as a warning (health counts it)."""
    while True:
        await asyncio.sleep_ms(await _sync_once(clock, net, ntp, log))


async def _sync_once(clock, net, ntp, log):
    """One sync; returns the pause before the next. Its own coroutine: what it catches goes
    with it (a loop's frame would keep its last exception, link.py's _session says why)."""
    from net import NetError

    try:
        await net.up()
        jumps = clock.jumps
        await clock.sync(ntp["host"], ntp["port"])
        if clock.jumps > jumps:
            log.warning("clock", "jumped by %s s" % ms_text(clock.last_jump_ms))
        else:
            log.info("clock", "synchronised")
        return int(ntp["resync_s"] * 1000)
    except (ClockError, NetError, OSError) as e:
        retry = min(10, ntp["resync_s"])
        log.warning("clock", "%s; retrying in %d s" % (e, retry))
        return int(retry * 1000)
