"""Throughput of the STARK primitives per core: NTT butterflies/s and keccak leaf hashing MB/s.

``run()`` is called by bench/stark.py; run this file alone to print the numbers.  Rates are
best of ``repeats`` runs on all numba threads, divided by the thread count (per core), from
wall-clock time.  Each rate also comes as ``..._per_cpu_s``: work divided by the CPU time the
process used, which stays meaningful when other jobs share the cores (wall-clock rates then
drop, CPU-time rates barely move).
"""

from __future__ import annotations

import json
import time
from typing import Callable

import numba
import numpy as np

from prover import field, keccak, merkle, ntt


def _best_seconds(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Best wall-clock seconds and best process CPU seconds over ``repeats`` warm runs."""
    fn()  # compile / warm caches
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu


def _random_matrix(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    return rng.integers(0, field.P, size=(rows, cols), dtype=np.uint64).astype(np.uint32)


def run(log_n: int = 20, width: int = 16, hash_log_rows: int = 18, row_bytes: int = 256,
        repeats: int = 5) -> dict:
    """Measure and return a dict of rates (keys documented inline)."""
    rng = np.random.default_rng(0)
    threads = numba.get_num_threads()

    mat = _random_matrix(rng, 1 << log_n, width)
    butterflies = (1 << log_n) // 2 * log_n * width
    dft_wall, dft_cpu = _best_seconds(lambda: ntt.dft(mat), repeats)
    idft_wall, idft_cpu = _best_seconds(lambda: ntt.idft(mat), repeats)
    lde_wall, _ = _best_seconds(lambda: ntt.coset_lde(mat, 1, field.GENERATOR), repeats)

    rows = rng.integers(0, 256, size=(1 << hash_log_rows, row_bytes), dtype=np.uint8)
    hash_wall, hash_cpu = _best_seconds(lambda: keccak.hash_rows(rows), repeats)

    # a whole Merkle commitment (leaves and nodes) to a matrix with the same bytes per row
    tree_mat = _random_matrix(rng, 1 << hash_log_rows, row_bytes // 4)
    commit_wall, commit_cpu = _best_seconds(lambda: merkle.commit_matrices([tree_mat]), repeats)

    mb = rows.nbytes / 1e6
    return {
        "threads": threads,
        "ntt_shape": [1 << log_n, width],
        "ntt_seconds": round(dft_wall, 4),
        "ntt_butterflies_per_s_per_core": round(butterflies / dft_wall / threads),
        "ntt_butterflies_per_cpu_s": round(butterflies / dft_cpu),
        "intt_butterflies_per_s_per_core": round(butterflies / idft_wall / threads),
        "intt_butterflies_per_cpu_s": round(butterflies / idft_cpu),
        "coset_lde_x2_seconds": round(lde_wall, 4),
        "keccak_leaf_shape": [1 << hash_log_rows, row_bytes],
        "keccak_leaf_mb_per_s_per_core": round(mb / hash_wall / threads, 1),
        "keccak_leaf_mb_per_cpu_s": round(mb / hash_cpu, 1),
        "merkle_commit_mb_per_s_per_core": round(mb / commit_wall / threads, 1),
        "merkle_commit_mb_per_cpu_s": round(mb / commit_cpu, 1),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
