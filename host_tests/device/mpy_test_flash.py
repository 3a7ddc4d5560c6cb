# Power cuts during the node's atomic file update (store.write_atomic), on littlefs over a fake
# flash that loses power at every possible program operation in turn. After each "reboot" the
# file must hold the old or the new content -- never a mix, never missing.
import fakeflash

import store

OLD = '{"device_id": "node-1", "version": 1}' * 8
NEW = '{"device_id": "node-1", "version": 2}' * 8


def _fresh():
    flash = fakeflash.Flash()
    flash.format()
    flash.mount()
    store.write_atomic("/flash/config.good.json", OLD)
    return flash


def test_atomic_write_survives_a_cut_at_every_write():
    # Count the program operations one update takes.
    flash = _fresh()
    before = flash.writes
    store.write_atomic("/flash/config.good.json", NEW)
    total = flash.writes - before
    flash.unmount()
    assert total > 2, total
    outcomes = set()
    for cut in range(total + 1):
        flash = _fresh()
        flash.cut_after = flash.writes + cut
        try:
            store.write_atomic("/flash/config.good.json", NEW)
        except OSError:
            pass
        flash.unmount()
        flash.mount()  # reboot
        text = store.read_text("/flash/config.good.json")
        assert text in (OLD, NEW), "cut after %d writes left %r" % (cut, text[:40])
        outcomes.add(text == NEW)
        flash.unmount()
    assert outcomes == {False, True}, "cuts never left the old (or never the new) file"


def _write_in_place_with_flush(text):
    half = len(text) // 2
    with open("/flash/config.good.json", "w") as f:
        f.write(text[:half])
        f.flush()  # littlefs commits here: a cut after this leaves half a file
        f.write(text[half:])


def test_in_place_write_with_flush_can_tear_which_is_why_we_rename():
    # The control experiment: the same cuts do tear a file updated in place in two commits,
    # so the fake flash really cuts and the test above really tests something.
    torn = 0
    flash = _fresh()
    before = flash.writes
    _write_in_place_with_flush(NEW)
    total = flash.writes - before
    flash.unmount()
    for cut in range(total + 1):
        flash = _fresh()
        flash.cut_after = flash.writes + cut
        try:
            _write_in_place_with_flush(NEW)
        except OSError:
            pass
        flash.unmount()
        flash.mount()
        try:
            text = store.read_text("/flash/config.good.json")
        except OSError:
            text = ""
        if text not in (OLD, NEW):
            torn += 1
        flash.unmount()
    assert torn, "in-place writes survived every cut; the fake flash is not cutting"
