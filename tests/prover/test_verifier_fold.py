"""The verifier's out-of-domain fold (``expr.combine_at_point``, exact Python integers)
equals the vectorised evaluator's at random extension points, for every zkMIPS table."""

from __future__ import annotations

import numpy as np

from prover import expr as E
from prover import field
from prover.zkmips import machine as MC
from prover.zkmips import memory as M
from prover.zkmips import program as P


def _numpy_fold(constraints, env, alpha):
    acc, power = np.zeros(4, np.uint32), field.ext_from_base(np.uint32(1))
    for values, is_ext in E.evaluate(constraints, env, ext_columns=True):
        v = np.asarray(values, dtype=np.uint32).reshape(-1)
        v = v[:4] if is_ext else field.ext_from_base(v[0])
        acc = field.ext_add(acc, field.ext_mul(power, v))
        power = field.ext_mul(power, alpha)
    return acc


def test_the_integer_fold_is_the_numpy_fold():
    rng = np.random.default_rng(5)
    ext = lambda: rng.integers(0, field.P, 4).astype(np.uint32)          # noqa: E731
    tables = MC.build_tables(np.zeros((2, len(P.FIELDS)), np.uint32), M.MemoryImage(np.zeros(0), np.zeros(0)))
    for t in tables:
        cols: dict = {}
        sels: dict = {}
        env = E.Env(lambda kind, i, nxt: cols.setdefault((kind, i, nxt), ext()),
                    lambda k: sels.setdefault(k, ext()),
                    [int(x) for x in rng.integers(0, field.P, 64)], [ext() for _ in range(4)],
                    [ext() for _ in range(64)])
        alpha = ext()
        assert np.array_equal(E.combine_at_point(t.constraints, env, alpha), _numpy_fold(t.constraints, env, alpha)), \
            t.name
