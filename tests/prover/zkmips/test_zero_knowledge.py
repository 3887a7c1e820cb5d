"""Zero knowledge of segmented receipts: the private input is not in the receipt, and two
receipts of the same claim made from different private inputs look alike to a simple
statistical test of every value the proofs open (docs/segments.md, "Input, journal and
blinding"; docs/stark.md, "Zero knowledge").

The guest reads 64 private bytes, folds them into memory (so private-dependent words cross
segment boundaries on the global memory bus) and writes a constant journal: its claim
(journal, exit code, cycles) is the same for every private input.
"""

from __future__ import annotations

import numpy as np
import pytest

from prover import proof as stark_bytes
from prover.security import INSECURE_FAST_TEST_PARAMS as FAST
from prover.zkmips import segments as SG
from prover.zkmips.segment_receipt import prove_segmented, verify_segmented
from tests.prover.zkmips.io_guest import build_io_guest

GUEST = r"""
#include "rawsys.h"
static unsigned char secret[64];
static unsigned acc[16];
void __start(void) {
  sys3(4003, 3, (long)secret, sizeof secret);
  for (int r = 0; r < 4; r++)
    for (int i = 0; i < 16; i++)
      acc[i] = (acc[i] * 31u) ^ secret[(i * 4 + r) & 63] ^ (acc[(i + 1) & 15] << 3);
  sys3(4004, 1, (long)"ok\n", 3);
  sys3(4001, 0, 0, 0);
  for (;;) ;
}
"""
#: Two receipts of several segments: `make test-all`; CI keeps the byte check in test_segments.py.
pytestmark = pytest.mark.slow
SECRET_A = bytes(range(64))
SECRET_B = bytes((7 * i + 200) & 0xFF for i in range(64))


#: The layouts (segment_receipt.py) by the segment size that gives them: several segments
#: tied by the open buses, or one joined proof with the private table inside it.
LAYOUTS = {"split": 7, "joined": 12}


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def receipts(request, compile_c):
    elf = build_io_guest(compile_c, GUEST)
    out = [prove_segmented(elf, b"", secret, params=FAST, segment_log=LAYOUTS[request.param], runner=SG.LocalRunner(1))
           for secret in (SECRET_A, SECRET_B)]
    assert all(r.joined == (request.param == "joined") for r in out)
    return out


def _opened_values(receipt) -> np.ndarray:
    """Every base-field coordinate of every witness value opened at the out-of-domain
    points (main, permutation and quotient rounds: round 0 is the preprocessed, public,
    columns), over every proof of the receipt."""
    vals = []
    for data in (receipt.memory_proof, *receipt.segment_proofs) if not receipt.joined else receipt.segment_proofs:
        proof, _, _ = stark_bytes.decode(data)
        for rnd in proof.opened[1:]:
            for matrix in rnd:
                for point in matrix:
                    vals.append(np.asarray(point, np.uint32).reshape(-1))
    return np.concatenate(vals)


def _chi2(counts: np.ndarray, expected: np.ndarray) -> float:
    return float(((counts - expected) ** 2 / expected).sum())


def _bound(df: int) -> float:
    """A generous critical value: the mean plus 6 standard deviations (false alarm < 1e-8)."""
    return df + 6 * np.sqrt(2 * df)


def test_the_claims_are_the_same(receipts):
    a, b = (verify_segmented(r.encode(), allow_insecure=True) for r in receipts)
    assert a == b and (receipts[0].joined or len(receipts[0].segment_proofs) >= 3)


def test_the_private_input_is_not_in_the_receipt(receipts):
    for r, secret in zip(receipts, (SECRET_A, SECRET_B)):
        data = r.encode()
        for k in range(0, 64, 8):
            assert secret[k: k + 8] not in data


def test_opened_values_are_uniform_and_indistinguishable(receipts):
    a, b = (_opened_values(r) for r in receipts)
    assert a.size == b.size > 10_000
    bins = 256
    for vals in (a, b):                               # each looks uniform (low byte)
        counts = np.bincount(vals & 0xFF, minlength=bins).astype(float)
        assert _chi2(counts, np.full(bins, vals.size / bins)) < _bound(bins - 1)
    # two-sample homogeneity: the two receipts' histograms agree
    ca = np.bincount(a & 0xFF, minlength=bins).astype(float)
    cb = np.bincount(b & 0xFF, minlength=bins).astype(float)
    pooled = (ca + cb) / 2
    stat = _chi2(ca, pooled) + _chi2(cb, pooled)
    assert stat < _bound(bins - 1)


def test_the_statistic_has_power():
    """The same test flags unmasked trace-like data (small bytes): it is not vacuous."""
    vals = np.random.default_rng(0).integers(0, 200, 20_000).astype(np.uint32)
    counts = np.bincount(vals & 0xFF, minlength=256).astype(float)
    assert _chi2(counts, np.full(256, vals.size / 256)) > _bound(255)
