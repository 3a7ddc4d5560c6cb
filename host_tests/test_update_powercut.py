"""A power cut at every flash program operation of an app install (the node's updater on
littlefs over the fake flash, under MicroPython: host_tests/fakes/flash/update_scenarios.py):
after each reboot the node points at a complete, verified release -- the old one, or the new
one on trial -- its security counter has not dropped, and finishing the install fetches at most
one piece (1 KB) more than an uninterrupted one."""

from __future__ import annotations

from stadsnod.testbed.ota import powercut_release, run_powercut


def test_a_power_cut_at_every_flash_write_of_an_install(tmp_path) -> None:
    out = run_powercut(powercut_release(tmp_path))
    assert out["cut_points"] > 50, out
    # early cuts leave the old release, cuts after the pointer's rename the new one on trial
    assert out["outcomes"]["old"] > 0 and out["outcomes"]["new"] > 0, out
    assert out["outcomes"]["old"] + out["outcomes"]["new"] == out["cut_points"], out
    assert out["worst_extra_bytes"] <= 1024, out
