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
