# The firmware's version, reported in /health. Bumped with each release.
VERSION = "0.3.0"
