"""stadsnod host tools: build, simulate, provision, check. One CLI: `stadsnod`."""
