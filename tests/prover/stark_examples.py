"""Example AIRs shared by the STARK tests: Fibonacci, a byte range check by LogUp against a
preprocessed byte table, and two tables exchanging values over a bus with multiplicities."""

from __future__ import annotations

import numpy as np

from prover import field
from prover.air import System, Table


def fib_table(private: bool = False) -> Table:
    """a' = b, b' = a + b; publics: the first two values and the last b."""
    t = Table("fib", private=private)
    a, b = t.mains("a", "b")
    x, y, out = t.public("x"), t.public("y"), t.public("out")
    t.when_first(a - x)
    t.when_first(b - y)
    t.when_transition(a.next - b)
    t.when_transition(b.next - a - b)
    t.when_last(b - out)
    return t


def fib_trace(n: int, x: int = 1, y: int = 1) -> tuple[np.ndarray, list[int]]:
    tr = np.zeros((n, 2), dtype=np.uint64)
    tr[0] = (x, y)
    for i in range(1, n):
        tr[i] = (tr[i - 1, 1], (tr[i - 1, 0] + tr[i - 1, 1]) % field.P)
    return tr.astype(np.uint32), [x, y, int(tr[-1, 1])]


def byte_table() -> Table:
    """Preprocessed column b = 0..255 receiving with multiplicity column ``mult``."""
    t = Table("bytes")
    b = t.pre("b")
    mult = t.main("mult")
    t.set_preprocessed(np.arange(256, dtype=np.uint32)[:, None])
    t.receive("byte", [b], mult)
    return t


def mul_table(private: bool = False) -> Table:
    """z = x * y with x, y range-checked as bytes (two sends per row) and a degree-3 check."""
    t = Table("mul", private=private)
    x, y, z, w = t.mains("x", "y", "z", "w")
    t.assert_eq(z, x * y)
    t.assert_eq(w, z * x * y)
    t.send("byte", [x])
    t.send("byte", [y])
    return t


def range_check_system(private: bool = False) -> System:
    return System([byte_table(), mul_table(private)])


def range_check_traces(n: int = 64, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, n, dtype=np.uint64)
    y = rng.integers(0, 256, n, dtype=np.uint64)
    z = x * y
    w = z * x * y % field.P
    mul = np.stack([x, y, z, w], axis=1).astype(np.uint32)
    mult = np.bincount(np.concatenate([x, y]).astype(np.int64), minlength=256).astype(np.uint32)[:, None]
    return {"bytes": mult, "mul": mul}


def exchange_system() -> System:
    """'producer' (height 8) sends (key, value) with multiplicity ``count``; 'consumer'
    (height 32) receives every tuple it uses once per row."""
    prod = Table("producer")
    key, val, count = prod.mains("key", "value", "count")
    prod.assert_eq(val, key * key + 3)
    prod.send("kv", [key, val], count)
    cons = Table("consumer")
    k, v, used = cons.mains("k", "v", "used")
    cons.assert_bool(used)
    cons.receive("kv", [k, v], used)
    return System([prod, cons])


def exchange_traces(seed: int = 2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    keys = np.arange(8, dtype=np.uint64) + 5
    vals = keys * keys + 3
    picks = rng.integers(0, 8, 32)
    used = (rng.random(32) < 0.8).astype(np.uint64)
    counts = np.bincount(picks, weights=used, minlength=8).astype(np.uint64)
    producer = np.stack([keys, vals, counts], axis=1).astype(np.uint32)
    consumer = np.stack([keys[picks], vals[picks], used], axis=1).astype(np.uint32)
    return {"producer": producer, "consumer": consumer}
