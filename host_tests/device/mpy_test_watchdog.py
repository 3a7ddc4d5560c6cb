# The watchdog's health check (firmware/runtime/watchdog.py), under MicroPython.
from log import Log as _Log


async def test_watchdog_is_fed_only_while_every_task_progresses():
    import asyncio

    import machine
    from watchdog import Watchdog

    fed = []

    class WDT:
        def feed(self):
            fed.append(1)

    w = Watchdog(WDT(), _Log(), period_ms=10)
    w.register("sampler", 50)
    w.register("publisher", 1000)
    task = asyncio.create_task(w.run())
    await asyncio.sleep_ms(30)
    assert fed and w.check() is None
    await asyncio.sleep_ms(60)  # the sampler stops beating
    assert w.check() == "sampler"
    n = len(fed)
    await asyncio.sleep_ms(50)
    assert len(fed) == n, "fed while a task was stuck"
    w.beat("sampler")
    await asyncio.sleep_ms(30)
    assert len(fed) > n
    task.cancel()
    assert machine.WDT  # the fake board has one (it touches sim/wdt when a world says so)
