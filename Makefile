# stadsnod — the two commands a newcomer needs are `make demo` and `make test`.
# Everything else they need (the .venv with pinned tools, mosquitto, the .mpy build) is made here.

PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
DURATION ?= 60
NODES    ?= 5
MOSQUITTO := $(shell command -v mosquitto 2>/dev/null || ls /usr/sbin/mosquitto 2>/dev/null)

.PHONY: all venv mosquitto rabbitmq build peers fuzz fleet test test-board-vm board-vm demo bench soak lint broker clean

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

# RabbitMQ with its MQTT plugin (Debian's rabbitmq-server): the second broker the tests run
# against (host_tests/test_rabbitmq.py). Its service is not started: the test bed runs its own.
RABBITMQ := /usr/lib/rabbitmq/bin/rabbitmq-server
rabbitmq:
	@if [ ! -x "$(RABBITMQ)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing rabbitmq-server from Debian"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null; \
	  else \
	    echo "rabbitmq-server is missing: run 'sudo apt-get install -y rabbitmq-server' and try again" >&2; exit 1; \
	  fi; \
	fi

# make build BOARD=picow checks that board's file and builds for its target only.
build: $(STAMP)
	$(BIN)/stadsnod build $(if $(BOARD),--board $(BOARD))

# Two workers (pytest-xdist), one per CI core. Four ran the suite in about 5 min, but with the
# RabbitMQ cluster (three Erlang VMs), the fleet simulations and the seeded conformance run in
# parallel on two cores, a different load-sensitive test failed in each of the last runs. The
# build is made once, before they start. The tests that start a RabbitMQ cluster share a group
# (xdist_group): one worker runs them one after the other.
test: $(STAMP) mosquitto rabbitmq build lint
	$(BIN)/pytest -q -n 2 --dist loadgroup

# The board VM: MicroPython built like the boards (32-bit, float32; ../shared/tools/README.md).
# It needs Debian's i386 C library; `make test-board-vm` runs the device tests and every test that
# runs the node or a command on device code again on it.
BOARD_VM ?= $(abspath ../shared/tools/micropython32)
board-vm:
	@if [ ! -x "$(BOARD_VM)" ]; then \
	  echo "no board VM at $(BOARD_VM): build it with ../shared/tools/build-micropython32.sh" >&2; exit 1; fi
	@if [ ! -e /usr/i686-linux-gnu/lib/ld-linux.so.2 ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing libc6-i386-cross from Debian (the board VM's C library)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libc6-i386-cross >/dev/null; \
	  else \
	    echo "the board VM needs 'sudo apt-get install -y libc6-i386-cross'" >&2; exit 1; \
	  fi; \
	fi

BOARD_VM_TESTS := host_tests/device host_tests/test_e2e_node.py host_tests/test_nothing_lost.py \
	host_tests/test_noise_node.py host_tests/test_occupancy_node.py host_tests/test_boards.py \
	host_tests/test_replay.py host_tests/test_noise_analyze.py \
	host_tests/test_trust.py host_tests/test_commands.py host_tests/test_update_powercut.py \
	host_tests/test_fuzz.py
test-board-vm: $(STAMP) mosquitto board-vm
	STADSNOD_MICROPYTHON=$(BOARD_VM) $(BIN)/stadsnod build
	STADSNOD_MICROPYTHON=$(BOARD_VM) $(BIN)/pytest -q -n 2 $(BOARD_VM_TESTS)

demo: $(STAMP) mosquitto build
	$(BIN)/stadsnod demo --nodes $(NODES) --duration $(DURATION)

bench: $(STAMP) mosquitto build peers
	$(BIN)/stadsnod bench

# The bench's MQTT peer: micropython-lib's umqtt.simple, pinned by version and hash, fetched
# from PyPI into build/peer/ (its sdist has no setup files, so pip cannot install it).
peers: $(STAMP)
	$(BIN)/python -m stadsnod.testbed.mqtt_peer fetch

# The fleet simulation: 1,000 nodes for 24 simulated hours at 120x (12 min plus start-up and the
# final drain), with its faults; bench prints its last figures. Bigger: --shard I/N on more
# machines (README, "Running the fleet simulation").
fleet: $(STAMP) mosquitto build
	$(BIN)/stadsnod fleet sim --nodes $(or $(FLEET_NODES),1000) --hours 24 --speed 120

# 100,000 mutated inputs for each parser of outside bytes on the unix port, then on the board
# VM when it is here (its figures end in _32); ~20 s each.
fuzz: $(STAMP) mosquitto build
	$(BIN)/stadsnod fuzz
	@if [ -x "$(BOARD_VM)" ]; then \
	  STADSNOD_MICROPYTHON=$(BOARD_VM) $(BIN)/stadsnod build && \
	  STADSNOD_MICROPYTHON=$(BOARD_VM) $(BIN)/stadsnod fuzz --suffix _32; \
	else echo "no board VM: the 32-bit fuzz run is skipped" >&2; fi

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
