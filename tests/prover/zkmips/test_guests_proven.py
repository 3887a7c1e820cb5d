"""Real programs from guests/ (ordinary C, glibc, the Debian cross compiler) proven and
verified end to end: the receipt's claim must be what ``zkmips execute`` computes.

CI proves hello-O2 (the insecure test preset keeps it quick); ``make test-all`` proves every
guest of the corpus whose run fits one proof (at most 2^21 cycles) at -O2 and -O0 (those
over 2^18 cycles as segmented receipts, as the product proves them), and checks that the
longer ones are refused with the one-line cycle-limit error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import vm
from prover.security import INSECURE_FAST_TEST_PARAMS as FAST
from prover.zkmips import keys
from prover.zkmips import segments as SG
from prover.zkmips.prove import MAX_PROOF_CYCLES, NotProvableError, prove
from prover.zkmips.segment_receipt import prove_segmented, verify_segmented
from prover.zkmips.receipt import verify_receipt

_GUESTS = Path(__file__).resolve().parents[3] / "guests"
if str(_GUESTS) not in sys.path:                # guests/guest_corpus.py is not an installed package
    sys.path.append(str(_GUESTS))
from guest_corpus import Guest, guests  # noqa: E402

#: Runs longer than this are proven in segments, as the product proves them: one proof of
#: 2^20-2^21 cycles needs 12-19 GB, and with the other xdist worker's tests beside it the
#: kernel killed the workers on a 24 GB machine (make test-all).
SEGMENTED_ABOVE = 1 << 18


def _prove_and_check(g: Guest, level: str) -> None:
    elf = g.elf(level).read_bytes()
    ran = vm.execute(elf, g.public_input, g.private_input, max_cycles=1 << 26)
    if ran.cycles > MAX_PROOF_CYCLES:
        with pytest.raises(NotProvableError, match="one proof covers at most"):
            prove(elf, g.public_input, g.private_input, params=FAST)
        return
    if ran.cycles > SEGMENTED_ABOVE:
        with SG.LocalRunner(1) as runner:
            receipt = prove_segmented(elf, g.public_input, g.private_input, params=FAST, runner=runner)
        claim = verify_segmented(receipt.encode(), allow_insecure=True)
        assert claim.image_id == SG.image_id(elf, FAST)
    else:
        claim = verify_receipt(prove(elf, g.public_input, g.private_input, params=FAST).encode(),
                               keys.image_id(elf, FAST), allow_insecure=True)
    assert (claim.journal, claim.exit_code, claim.cycles, claim.input) == \
        (ran.journal, ran.exit_code, ran.cycles, g.public_input)


def test_hello_is_proven_as_executed():
    _prove_and_check(Guest("hello"), "O2")


@pytest.mark.slow
@pytest.mark.parametrize("level", ["O2", "O0"])
@pytest.mark.parametrize("name", [g.name for g in guests() if g.name != "hello"])
def test_guest_is_proven_as_executed(name, level):
    _prove_and_check(Guest(name), level)
