"""The checker's table, gathered: importing the check modules registers every check in
CHECKS by requirement id. `make test` fails when a MUST verified `auto` has no check here, or a
check names no requirement (host_tests/test_conformance.py)."""

from __future__ import annotations

from . import checks_behaviour, checks_wire
from .checks_behaviour import DECLARED, declared
from .seen import (
                   CHECKS,
                   FAIL,
                   INCONCLUSIVE,
                   MAYBE,
                   NA,
                   PASS,
                   Outcome,
                   Seen,
                   _health_values,
                   _readings,
)

__all__ = ["CHECKS", "DECLARED", "FAIL", "INCONCLUSIVE", "MAYBE", "NA", "PASS", "Outcome",
           "Seen", "_health_values", "_readings", "checks_behaviour", "checks_wire", "declared"]
