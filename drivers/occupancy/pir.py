# Passive infrared motion sensors on a GPIO: HC-SR501, AM312, Panasonic EKMC and the like. The
# modules differ (a hold timer of 2 s to minutes, or none; a blocking time after each pulse;
# spurious pulses while they settle after power-up: ~1 min HC-SR501, 30 s EKMC), so this driver
# does its own debouncing, hold time and warm-up: any module then behaves the same. The pin's
# interrupt only sets a flag (ThreadSafeFlag); one long-lived task judges the level at each
# edge, and wait() ticks with a plain sleep: no task or coroutine is made per tick.
import asyncio

from time import ticks_diff, ticks_ms


class PIR:
    def __init__(self, pin, hold_s=30, warmup_s=60, debounce_ms=100, retrigger=True):
        """pin: a machine.Pin configured as an input (the board makes it)."""
        self.pin = pin
        self.hold_ms = int(hold_s * 1000)
        self.warmup_ms = int(warmup_s * 1000)
        self.debounce_ms = debounce_ms
        self.retrigger = retrigger
        self._flag = asyncio.ThreadSafeFlag()
        self._started = ticks_ms()
        self._level = 0
        self._level_since = self._started
        self._motion = False  # the debounced output
        self._held_from = None  # when the present period began (hold timer running)
        self._last_motion = None
        self.edges = 0
        self._watcher = None  # the edge task, started by the first wait()
        cls = type(pin)
        pin.irq(self._isr, cls.IRQ_RISING | cls.IRQ_FALLING)

    def _isr(self, _pin):
        self._flag.set()  # nothing else in interrupt context

    def watch(self):
        """Starts the edge task (once): each edge is judged when it happens."""
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch_edges())

    async def wait(self, timeout_ms):
        """One tick: timeout_ms, then update() (the hold timer and debounce run out on ticks).
        A loop that must not allocate calls watch() once, then sleep_ms and update() itself."""
        self.watch()
        await asyncio.sleep_ms(timeout_ms)
        self.update()

    async def _watch_edges(self):
        while True:
            await self._flag.wait()  # a coroutine per edge, not per tick
            self.update()

    def close(self):
        """Stops the edge task and the pin's interrupt (the sensor is opened again)."""
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
        self.pin.irq(None)

    @property
    def warming_up(self):
        return ticks_diff(ticks_ms(), self._started) < self.warmup_ms

    def update(self, now=None):
        now = ticks_ms() if now is None else now
        level = self.pin.value()
        if level != self._level:
            self._level = level
            self._level_since = now
            self.edges += 1
        if ticks_diff(now, self._level_since) >= self.debounce_ms:
            self._motion = bool(self._level)
        if self.warming_up:
            self._held_from = self._last_motion = None
            return
        if self._motion:
            if self._held_from is None or self.retrigger:
                self._last_motion = now
            if self._held_from is None:
                self._held_from = now
        elif self._held_from is not None and not self._still_held(now):
            self._held_from = None

    def _still_held(self, now):
        if self.retrigger:
            return ticks_diff(now, self._last_motion) < self.hold_ms
        return ticks_diff(now, self._held_from) < self.hold_ms

    @property
    def present(self):
        return self._held_from is not None
