"""A sign bit proven by a byte lookup of ``2 limb - 256 bit`` must also be boolean.

``bit = k / 256`` (a field element) with ``2 limb - k`` in [0, 256) passes the lookup, so
a table that forgot ``assert_bool`` would accept a fractional "sign". These forgeries
must fail the constraints of every table that proves sign bits this way."""

from __future__ import annotations

import numpy as np
import pytest

from prover.air import ConstraintError, check_constraints
from prover.field import P
from prover.zkmips.add_sub import add_sub_trace, build_add_sub
from prover.zkmips.lookup import LookupCounter
from prover.zkmips.lt import build_lt, lt_trace
from vm.isa import OP

INV256 = pow(256, P - 2, P)


def _fractional(k: int) -> int:
    return k * INV256 % P


def test_add_overflow_with_fractional_signs_is_rejected():
    """ADD 0x7fffffff + 1 = 0x80000000 overflows (the VM traps); with sign_a = sign_c =
    254/256 the overflow equation and the byte lookups would both pass."""
    t = build_add_sub()
    tr = add_sub_trace({"op": np.array([OP["addu"]]), "a": np.array([0x7FFFFFFF]), "b": np.array([1]),
                        "c": np.array([0x80000000])})
    col = t.main_names.index
    tr[0, col("is_addu")], tr[0, col("is_add")] = 0, 1
    tr[0, col("sign_a")] = tr[0, col("sign_c")] = _fractional(254)
    tr[0, col("sign_b")] = 0
    LookupCounter().add_table(t, tr)        # the lookups alone accept it
    with pytest.raises(ConstraintError):
        check_constraints(t, tr)


def test_slt_with_a_fractional_sign_is_rejected():
    """slt(0x7f000000, 5) is 0. With sign_a = 254/256 the flipped operand becomes
    0x01000000 < 0x80000005, so lt = 1 with d = 0x80fffffb satisfies the word sum, and
    2 * 0x7f - 254 = 0 passes the byte lookup: only booleanity objects."""
    t = build_lt()
    tr = lt_trace({"op": np.array([OP["slt"]]), "a": np.array([0x7F000000]), "b": np.array([5]),
                   "c": np.array([0])})
    col = t.main_names.index
    tr[0, col("sign_a")] = _fractional(254)
    tr[0, col("lt")] = 1
    for i, limb in enumerate((0xFB, 0xFF, 0xFF, 0x80)):
        tr[0, col(f"d{i}")] = limb
    tr[0, col("carry_lo")] = 1
    LookupCounter().add_table(t, tr)        # the lookups alone accept it
    with pytest.raises(ConstraintError, match=rf"main\[{col('sign_a')}\] - 1"):
        check_constraints(t, tr)
