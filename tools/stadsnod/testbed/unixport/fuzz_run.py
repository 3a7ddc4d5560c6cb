# Runs on the MicroPython VM: every parser that reads bytes from outside the node gets mutated
# inputs (bit flips, byte changes, insertions, deletions, repeats, truncations, splices),
# seeded from real frames, captures and messages (the seed file the host writes: one
# "parser hex" line each). An input passes when the parser returns or raises its own error --
# the one its caller handles; anything else (another exception, a MemoryError: an allocation
# the input sized) is a failure, printed with the input. A hang stops the run: the host sees
# which parser was running. Prints per parser: "fuzz <parser> <inputs> <failures> <accepted>".
# Environment: FUZZ_SEEDS (the seed file), FUZZ_COUNT (inputs per parser), FUZZ_ONLY
# (comma-separated parser names), FUZZ_SEED (the mutation PRNG's seed).
import gc
import os
import sys

import fuzz_targets

COUNT = int(os.getenv("FUZZ_COUNT") or "1000")
ONLY = [n for n in (os.getenv("FUZZ_ONLY") or "").split(",") if n]
_state = [int(os.getenv("FUZZ_SEED") or "1") or 1]
EXTREMES = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)
SHOWN = 3  # failing inputs printed per parser


def rand(n):
    """0..n-1 from a xorshift32 (the same inputs on every VM for the same FUZZ_SEED)."""
    x = _state[0]
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    _state[0] = x
    return x % n


def mutate(seed, others):
    d = bytes(seed)  # bytes and slices: MicroPython's bytearray cannot delete or insert
    for _ in range(1 + rand(4)):
        op = rand(9)
        n = len(d)
        at = rand(n) if n else 0
        if op == 0 and n:
            d = d[:at] + bytes([d[at] ^ (1 << rand(8))]) + d[at + 1:]
        elif op == 1 and n:
            d = d[:at] + bytes([rand(256)]) + d[at + 1:]
        elif op == 2 and n:
            d = d[:at] + bytes([EXTREMES[rand(len(EXTREMES))]]) + d[at + 1:]
        elif op == 3:
            d = d[:at] + bytes([rand(256)]) + d[at:]
        elif op == 4 and n:
            d = d[:at] + d[at + 1 + rand(4):]
        elif op == 5 and n:
            k = 1 + rand(min(16, n - at))
            d = d[:at] + d[at:at + k] * (1 + rand(3)) + d[at:]  # a repeated chunk
        elif op == 6 and n:
            d = d[:at]
        elif op == 7 and others:
            o = others[rand(len(others))]
            d = d[:at] + o[rand(len(o) + 1):]
        elif op == 8 and n >= 2 and at + 1 < n:  # a length-like pair to an extreme
            d = d[:at] + bytes([EXTREMES[rand(6)], EXTREMES[rand(6)]]) + d[at + 2:]
    return d


def load_seeds(path):
    seeds = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, hexed = line.split(None, 1)
                seeds.setdefault(name, []).append(bytes.fromhex(hexed))
    return seeds


def run(name, target, seeds):
    fn, allowed = target
    failures = 0
    accepted = 0  # inputs the parser took as valid: the mutations reach past its first check
    shown = 0
    for seed in seeds:  # the seeds themselves must parse
        fn(seed)
    for i in range(COUNT):
        data = mutate(seeds[i % len(seeds)], seeds)
        try:
            fn(data)
            accepted += 1
        except allowed:
            pass
        except Exception as e:  # noqa: BLE001 -- anything else is what the fuzzer looks for
            failures += 1
            if shown < SHOWN:
                shown += 1
                print("fail %s %s %r" % (name, data.hex(), e))
                sys.print_exception(e)
        if i & 1023 == 0:
            gc.collect()
    print("fuzz %s %d %d %d" % (name, COUNT, failures, accepted))


def main():
    seeds = load_seeds(os.getenv("FUZZ_SEEDS"))
    for name, target in fuzz_targets.TARGETS:
        if ONLY and name not in ONLY:
            continue
        if name not in seeds:
            print("fail %s - no seeds" % name)
            continue
        print("parser %s" % name)  # a hang after this line is this parser's
        run(name, target, seeds[name])


main()
