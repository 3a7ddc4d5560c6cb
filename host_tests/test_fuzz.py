"""The fuzzer's short run (make fuzz runs 100,000 inputs per parser): every parser of outside
bytes, on the MicroPython VM, only its own errors or a valid result."""

from __future__ import annotations

from stadsnod.testbed.fuzz import run_fuzz

PARSERS = {"pms5003", "ld2410", "sensirion", "sntp", "mqtt", "config", "envelope", "reading",
           "file_list", "timestamp"}


def test_every_parser_of_outside_bytes_survives_mutated_real_inputs(tmp_path) -> None:
    r = run_fuzz(tmp_path, 3000)
    assert set(r.inputs) == PARSERS and all(n == 3000 for n in r.inputs.values()), r.inputs
    assert not any(r.failures.values()), "\n".join(r.examples)
    # the mutations get past the first checks: some inputs still parse as valid
    assert all(r.accepted[p] > 0 for p in PARSERS), r.accepted


def test_the_provisioning_bundle_reader_refuses_mutated_bundles_clearly() -> None:
    """The bundle is read on a technician's laptop (CPython): a mutated real bundle opens or
    is refused with BundleError, never another exception, and an altered signed byte is never
    opened as valid contents."""
    import random

    from stadsnod.testbed.fuzz_host import bundle_target, fuzz_bundle, mutate

    from provisioning.bundle import BundleError

    n, bad, accepted, shown = fuzz_bundle(3000)
    assert n == 3000 and bad == 0, shown
    assert 0 < accepted < 3000  # formatting-only edits open; the rest are refused
    parse, seeds = bundle_target()
    rng = random.Random(7)
    for _ in range(500):
        data = mutate(rng, seeds[0], seeds)
        try:
            contents = parse(data)
        except BundleError:
            continue
        assert contents == parse(seeds[0]) or contents == parse(seeds[1]), data
