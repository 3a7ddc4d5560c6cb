# Reconnect pacing: exponential backoff with "equal jitter", so a city's worth of nodes that lost
# the broker at the same moment do not all come back at the same moment.
# A connect that succeeded restarts the pacing only once the connection has held for a while: a
# broker that drops every node right after CONNACK (overloaded, or refusing it by policy) must
# see the same slowing retries as one that refuses the connect (profile SN-RES-2).
# The first retry after boot or after such a connection is lost waits anywhere in
# [0, spread_ms] ("full jitter"): a broker restart (or a city's power coming back) that drops N
# nodes at once then sees about N / spread connects a second, not N in the first second.
import random
import time


class Backoff:
    def __init__(self, base_ms=1000, cap_ms=60000, stable_ms=30000, spread_ms=0):
        self.base_ms = base_ms
        self.cap_ms = cap_ms
        self.stable_ms = stable_ms
        self.spread_ms = spread_ms
        self.attempt = 0
        self._fresh = True  # no retry yet since boot or since a connection that held
        self._up = None  # ticks_ms of the last successful connect

    def connected(self):
        self._up = time.ticks_ms()

    def next_ms(self):
        """Delay before the next attempt: uniform in [ceiling/2, ceiling], ceiling doubling;
        from the start again after a connection that held for stable_ms."""
        if self._up is not None and time.ticks_diff(time.ticks_ms(), self._up) >= self.stable_ms:
            self.attempt = 0
            self._fresh = True
        self._up = None
        if self._fresh and self.spread_ms:  # everyone's first retry spread out
            self._fresh = False
            return random.getrandbits(16) * self.spread_ms // 0xFFFF
        self._fresh = False
        ceiling = min(self.cap_ms, self.base_ms << min(self.attempt, 16))
        self.attempt += 1
        half = ceiling >> 1
        return half + random.getrandbits(16) * (ceiling - half) // 0xFFFF
