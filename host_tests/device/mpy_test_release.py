# A release's file list line and its timestamp, refused with the updater's own error whatever
# their bytes (regressions the fuzzer found: tools/stadsnod/testbed/unixport/fuzz_run.py).
import release


def raises(cls, fn, *args):
    try:
        fn(*args)
    except cls:
        return
    raise AssertionError("%r did not raise %s" % (args, cls.__name__))

DIGEST = "6ac2d0856f9554afcc92f4cfb8d42345579a7a6e5eaf6fe1f64cc7ae81697ce9"
TS = ('{"type": "stadsnod-timestamp", "version": 12, "release": 3, "manifest": "%s", '
      '"expires": %s}')


def test_a_file_list_line_with_a_size_that_is_no_number_is_refused():
    assert release.entry("version.mpy 120 %s" % DIGEST) == ["version.mpy", 120, DIGEST, []]
    for size in ("10P", "-5", "1e3", "0x10"):
        raises(release.UpdateError, release.entry, "version.mpy %s %s" % (size, DIGEST))


def test_a_timestamp_whose_expiry_is_no_number_is_refused():
    now = (92000000, 0)
    assert release.timestamp((TS % (DIGEST, 2000000000)).encode(), now, 0)["version"] == 12
    for bad in ('"2033-05-18"', "null", "[1]", "1.5e9"):
        raises(release.UpdateError, release.timestamp, (TS % (DIGEST, bad)).encode(), now, 0)
