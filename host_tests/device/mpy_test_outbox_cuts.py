# A power cut at every flash program operation of two of the outbox's scenarios (the bench runs
# all five at three segment sizes: fakes/flash/outbox_cuts.py): packs in flight when the
# connection goes, and a full queue dropping its oldest while packs are in flight. After each
# cut the node reboots and drains: nothing stored is lost unless the full queue counted it as
# dropped, no seq stands for two readings, config.json is one that was written whole.
import outbox_cuts


def _every_cut(name):
    for scenario, ops, capacity in outbox_cuts.SCENARIOS:
        if scenario == name:
            clean = outbox_cuts.run(ops, None, capacity, 3)
            assert outbox_cuts.check(clean) is None, outbox_cuts.check(clean)
            assert clean["used"] > 20, clean["used"]  # the scenario writes the flash a lot
            for cut in range(clean["used"] + 1):
                r = outbox_cuts.run(ops, cut, capacity, 3)
                why = outbox_cuts.check(r)
                assert why is None, (name, cut, why)
            return clean
    raise AssertionError("no scenario " + name)


def test_a_lost_connection_with_packs_in_flight_loses_nothing_at_any_cut():
    _every_cut("rewind")


def test_a_full_queue_dropping_its_oldest_under_packs_in_flight_loses_only_what_it_counts():
    clean = _every_cut("full")
    assert clean["dropped"] > 0  # the queue of 8 did overflow
