"""`stadsnod selftest`: run the node's on-device self-test (firmware/selftest.py) through
mpremote's transport and print it as a checklist; non-zero exit on any failure."""

from __future__ import annotations

import json

from ..core.paths import ToolError
from .deploy import _transport


def selftest(port: str, say=print) -> list[list]:
    from mpremote.transport import TransportError

    t = _transport(port)
    out = bytearray()
    try:
        t.exec("import selftest\nselftest.main()", data_consumer=out.extend)
    except TransportError as e:
        raise ToolError(f"the self-test did not run on the board ({e}); deploy first "
                        "(stadsnod deploy)") from None
    finally:
        t.exit_raw_repl()
        t.close()
    lines = [ln for ln in out.decode(errors="replace").splitlines() if ln.startswith("SELFTEST ")]
    if not lines:
        raise ToolError(f"the self-test printed no result:\n{out.decode(errors='replace')[-800:]}")
    checks = json.loads(lines[-1][9:])
    for name, ok, detail in checks:
        say(f"  [{'ok' if ok else 'FAIL'}] {name}: {detail}")
    return checks
