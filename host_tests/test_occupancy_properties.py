"""The people counter (firmware/occupancy/people_counter.py) on CPython, with hypothesis: generated
doorway traffic, sampled the way the node ranges the two zones (in turn, a ranging every
33 ms), must be counted exactly when the sensor is clean; with dropouts and jitter, it may
miss people but never counts a turn-back, never counts someone the wrong way and never counts
more than walked through. The noisy reference scenario documents its error bound (a figure
in make bench: occupancy_count_error_pct)."""

from __future__ import annotations

import people
from hypothesis import given, settings
from hypothesis import strategies as st
from people_counter import Counter

PERIOD_S = 0.033  # one ranging; each zone every 66 ms
HEAD_MM, FLOOR_MM = 500, 2100


def run(crossings: list[people.Crossing], dropout: float = 0.0, jitter: int = 0,
        seed: int = 1, events: list[tuple[float, bool]] | None = None) -> Counter:
    """The counter over the scene; `events` gets (time, inward) of every count it makes."""
    rnd = people._Rand(seed)
    c = Counter()
    end = max((x.start + x.duration for x in crossings), default=0) + 1.0
    t, zone = 0.0, 0
    while t < end:
        a, b = people.doorway_zones(crossings, t)
        under = a if zone == 0 else b
        mm = (HEAD_MM if under else FLOOR_MM) + int(rnd.between(-jitter, jitter))
        before = (c.count_in, c.count_out)
        c.update(zone, rnd.next() >= dropout, mm)
        if events is not None and (c.count_in, c.count_out) != before:
            events.append((t, c.count_in > before[0]))
        zone ^= 1
        t += PERIOD_S
    return c


crossing = st.tuples(st.booleans(), st.booleans(), st.floats(0.6, 2.0), st.floats(0.3, 3.0))


def scene(specs: list[tuple[bool, bool, float, float]]) -> list[people.Crossing]:
    """(inward, turn back, duration, gap before) -> crossings one after another."""
    t, out = 0.5, []
    for inward, back, duration, gap in specs:
        out.append(people.Crossing(t, inward, duration, back))
        t += duration + gap
    return out


def truth(crossings: list[people.Crossing]) -> tuple[int, int, int]:
    return (sum(c.inward and not c.turn_back for c in crossings),
            sum(not c.inward and not c.turn_back for c in crossings),
            sum(c.turn_back for c in crossings))


@settings(max_examples=150, deadline=None)
@given(st.lists(crossing, min_size=1, max_size=25))
def test_clean_traffic_is_counted_exactly(specs) -> None:
    xs = scene(specs)
    c = run(xs)
    assert (c.count_in, c.count_out, c.turned_back) == truth(xs)


@settings(max_examples=150, deadline=None)
@given(st.lists(crossing, min_size=1, max_size=25), st.floats(0.0, 0.3), st.integers(0, 80),
       st.integers(1, 10**6))
def test_noise_never_invents_or_reverses_a_crossing(specs, dropout, jitter, seed) -> None:
    xs = scene(specs)
    events: list[tuple[float, bool]] = []
    c = run(xs, dropout, jitter, seed, events)
    want_in, want_out, _ = truth(xs)
    assert 0 <= c.count_in <= want_in and 0 <= c.count_out <= want_out
    # each count belongs to the crossing under way (from its start to the next one's) and has
    # that crossing's direction; a turn-back is never counted, nobody is counted twice
    counted = set()
    for at, inward in events:
        i = max(k for k, x in enumerate(xs) if x.start <= at)
        x = xs[i]
        assert not x.turn_back and inward == x.inward and i not in counted, (at, x, events)
        counted.add(i)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.booleans(), st.integers(0, 4000)),
                max_size=400))
def test_bookkeeping_under_any_reading_sequence(readings) -> None:
    # arbitrary readings: counts only grow, one per return to an empty doorway at most,
    # and take() hands over exactly what was counted
    c = Counter()
    empties = 0
    last_state = 0
    total_in = total_out = 0
    for zone, valid, mm in readings:
        before = c.count_in + c.count_out
        step = c.update(zone, valid, mm)
        after = c.count_in + c.count_out
        assert after - before == abs(step) and step in (-1, 0, 1)
        if c.state == 0 and last_state != 0:
            empties += 1
        last_state = c.state
        if zone == 1 and mm % 7 == 0:
            got_in, got_out = c.take()
            total_in += got_in
            total_out += got_out
            assert c.count_in == c.count_out == 0
    total_in += c.count_in
    total_out += c.count_out
    assert total_in + total_out + c.turned_back <= empties


def test_noisy_reference_scenario_stays_within_its_documented_error() -> None:
    # the school entrance's morning peak (60 people, turn-backs, close pairs) with 5 %
    # dropouts and +-30 mm jitter: documented bound 10 % of the people who walked through
    xs, t = people.morning_peak(length_s=600.0, people=60)
    c = run(xs, dropout=0.05, jitter=30, seed=7)
    walked = t["in"] + t["out"]
    error = abs(c.count_in - t["in"]) + abs(c.count_out - t["out"])
    assert error / walked <= 0.10, (c.count_in, c.count_out, t)
    clean = run(xs)
    assert (clean.count_in, clean.count_out) == (t["in"], t["out"])
