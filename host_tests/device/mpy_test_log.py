# The node's log (firmware/runtime/log.py), under MicroPython: health's last problem, and a heap
# that does not grow with the problems a node sees (the soak's heap growth was a list of them).
from log import Log


def test_the_last_warning_or_error_is_the_problem_health_reports():
    log = Log(level="error")
    assert log.last_problem() == ""
    log.info("mqtt", "connected to 127.0.0.1:8883")
    assert log.last_problem() == ""  # info is no problem
    log.warning("mqtt", "connection lost: [Errno 104] ECONNRESET")
    log.error("sensor", "bme280_0x76: no ACK")
    assert log.last_problem() == "sensor: bme280_0x76: no ACK"


def test_a_long_problem_is_cut_at_a_whole_character():
    log = Log(level="error")
    log.warning("w", "x" * 200)
    assert log.last_problem() == "w: " + "x" * 93  # 96 bytes
    log.warning("w", "x" * 92 + "\u00e5\u00e5")  # "w: " + 92 x + 2-byte chars: one fits
    assert log.last_problem() == "w: " + "x" * 92, log.last_problem()  # 95 bytes, whole chars


def test_problems_leave_the_heap_as_they_found_it():
    import gc

    def problems(log, n):
        for i in range(n):
            log.warning("mqtt", "connection lost after %d tries: %s" % (i, "e" * (i % 70)))
        gc.collect()
        return gc.mem_alloc()

    seen, fresh = Log(level="error"), Log(level="error")
    # the same work twice, the first time to take whatever the first run leaves behind
    # (formatting, the stack): what differs is the second log's own retention
    first = problems(seen, 300)
    grown = problems(fresh, 300) - first
    assert grown == 0, grown  # a list of the four recent problems: +320 B on the unix port
