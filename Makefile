# stadsnod — the two commands a newcomer needs are `make demo` and `make test`.
# Everything else they need (the .venv with pinned tools, mosquitto, the .mpy build) is made here.

PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
DURATION ?= 60
NODES    ?= 5
MOSQUITTO := $(shell command -v mosquitto 2>/dev/null || ls /usr/sbin/mosquitto 2>/dev/null)

.PHONY: all venv mosquitto build test demo bench soak lint broker clean

all: build

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

venv: $(STAMP)

# mosquitto is a Debian package; install it when missing and we may, otherwise say what to do.
mosquitto:
	@if [ -z "$(MOSQUITTO)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing mosquitto from Debian"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null; \
	  else \
	    echo "mosquitto is missing: run 'sudo apt-get install -y mosquitto' and try again" >&2; exit 1; \
	  fi; \
	fi

# make build BOARD=picow checks that board's file and builds for its target only.
build: $(STAMP)
	$(BIN)/stadsnod build $(if $(BOARD),--board $(BOARD))

test: $(STAMP) mosquitto build lint
	$(BIN)/pytest -q

demo: $(STAMP) mosquitto build
	$(BIN)/stadsnod demo --nodes $(NODES) --duration $(DURATION)

bench: $(STAMP) mosquitto build
	$(BIN)/stadsnod bench

# A simulated day (one reading a simulated minute) with 6 hours of broker outages; ~2 minutes.
soak: $(STAMP) mosquitto build
	$(BIN)/stadsnod soak

broker: $(STAMP) mosquitto
	$(BIN)/stadsnod broker

# Host code: ruff (style and pyflakes) and mypy (type hints). Device code and what runs beside
# it on the MicroPython VM: pyflakes-level checks with MicroPython's builtins (ruff-device.toml).
DEVICE_CODE := firmware drivers boards host_tests/fakes host_tests/device tools/stadsnod/testbed/unixport
lint: $(STAMP)
	$(BIN)/ruff check tools provisioning host_tests
	$(BIN)/ruff check --config ruff-device.toml $(DEVICE_CODE)
	$(BIN)/mypy

clean:
	rm -rf build run .pytest_cache .hypothesis
