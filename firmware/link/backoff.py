# Reconnect pacing: exponential backoff with "equal jitter", so a city's worth of nodes that lost
# the broker at the same moment do not all come back at the same moment.
import random


class Backoff:
    def __init__(self, base_ms=1000, cap_ms=60000):
        self.base_ms = base_ms
        self.cap_ms = cap_ms
        self.attempt = 0

    def reset(self):
        self.attempt = 0

    def next_ms(self):
        """Delay before the next attempt: uniform in [ceiling/2, ceiling], ceiling doubling."""
        ceiling = min(self.cap_ms, self.base_ms << min(self.attempt, 16))
        self.attempt += 1
        half = ceiling >> 1
        return half + random.getrandbits(16) * (ceiling - half) // 0xFFFF
