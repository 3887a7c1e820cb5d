"""Segmented receipts: a run cut into segments of 128 cycles, each proven on its own,
joined by the global memory bus (docs/segments.md). Every way of recombining the proofs
of honest receipts - dropping, reordering, duplicating, replaying a segment, splicing
segments or the memory proof of another run - and a segment that starts from another
state than the previous one left, are rejected by the verifier.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import vm
from prover.errors import VerificationError
from prover.security import INSECURE_FAST_TEST_PARAMS as FAST
from prover.zkmips import segments as SG
from prover.zkmips import syscall as S
from prover.zkmips.segment_receipt import (SegmentedReceipt, decode, prove_segmented, segment_verifier_system,
                                           verify_segmented)
from prover.zkmips.spec import REGISTER_KEY_BASE
from tests.prover.zkmips.io_guest import PRIVATE, PUBLIC, build_io_guest

SEGMENT_LOG = 7                        # 128 cycles: the io guest's 699 cycles make 6 segments
OTHER_PUBLIC, OTHER_PRIVATE = b"another public input, longer", b"other"


def _prove(elf: bytes, public: bytes, private: bytes) -> SegmentedReceipt:
    return prove_segmented(elf, public, private, params=FAST, segment_log=SEGMENT_LOG, runner=SG.LocalRunner(1))


@pytest.fixture(scope="module")
def elf(compile_c) -> bytes:
    return build_io_guest(compile_c)


@pytest.fixture(scope="module")
def receipt(elf) -> SegmentedReceipt:
    return _prove(elf, PUBLIC, PRIVATE)


@pytest.fixture(scope="module")
def other(elf) -> SegmentedReceipt:
    return _prove(elf, OTHER_PUBLIC, OTHER_PRIVATE)


def _verify(r: SegmentedReceipt):
    return verify_segmented(r.encode(), allow_insecure=True)


def _rejected(r: SegmentedReceipt, match: str | None = None) -> None:
    with pytest.raises(VerificationError, match=match):
        _verify(r)


def test_honest_receipt_is_the_vms_run(elf, receipt):
    claim = _verify(receipt)
    res = vm.execute(elf, PUBLIC, PRIVATE)
    assert (claim.journal, claim.exit_code, claim.cycles) == (res.journal, res.exit_code, res.cycles)
    assert len(receipt.segment_proofs) == -(-res.cycles // (1 << SEGMENT_LOG)) == 6
    assert decode(receipt.encode()) == receipt


def test_the_two_runs_share_a_program_but_not_a_claim(receipt, other):
    a, b = _verify(receipt), _verify(other)
    assert a.image_id == b.image_id and a.cycles == b.cycles
    assert a.journal != b.journal


def _segments(r: SegmentedReceipt, proofs) -> SegmentedReceipt:
    return dataclasses.replace(r, segment_proofs=tuple(proofs))


def test_dropping_a_segment_is_rejected(receipt):
    p = receipt.segment_proofs
    _rejected(_segments(receipt, p[:2] + p[3:]))


def test_dropping_the_last_segment_is_rejected(receipt):
    _rejected(_segments(receipt, receipt.segment_proofs[:-1]))


def test_reordering_segments_is_rejected(receipt):
    p = list(receipt.segment_proofs)
    p[1], p[2] = p[2], p[1]
    _rejected(_segments(receipt, p))


def test_duplicating_a_segment_is_rejected(receipt):
    p = list(receipt.segment_proofs)
    p[2] = p[1]
    _rejected(_segments(receipt, p))


def test_replaying_a_segment_is_rejected(receipt):
    p = receipt.segment_proofs
    _rejected(_segments(receipt, p + p[-1:]))


def test_splicing_a_segment_of_another_run_is_rejected(receipt, other):
    p = list(receipt.segment_proofs)
    p[3] = other.segment_proofs[3]
    _rejected(_segments(receipt, p))


def test_splicing_the_memory_proof_of_another_run_is_rejected(receipt, other):
    _rejected(dataclasses.replace(receipt, memory_proof=other.memory_proof))


def test_another_claim_is_rejected(receipt, other):
    c = receipt.claim
    for changed in (dataclasses.replace(c, journal=other.claim.journal),
                    dataclasses.replace(c, exit_code=c.exit_code ^ 1),
                    dataclasses.replace(c, cycles=c.cycles - 1),
                    dataclasses.replace(c, input=OTHER_PUBLIC)):
        _rejected(dataclasses.replace(receipt, claim=changed))


def test_another_input_read_is_rejected(receipt):
    _rejected(dataclasses.replace(receipt, input_read=receipt.input_read - 1))


def test_every_proof_is_needed_under_its_own_key(receipt):
    _rejected(dataclasses.replace(receipt, memory_key=receipt.segment_key))
    _rejected(_segments(receipt, (receipt.memory_proof,) + receipt.segment_proofs[1:]))


def test_a_segment_that_starts_from_another_state_is_rejected(elf, monkeypatch):
    """Segment 3 starts one register cell (an FPU register: listed by every segment,
    touched by none) from another value than segment 2 left. Inside segment 3 the cell's
    chain is consistent (init = final, no access), so only the global bus can tell."""
    honest = SG._start_values
    victim = REGISTER_KEY_BASE + 45

    def forged(ex, keys, kernel):
        values = honest(ex, keys, kernel)
        if ex.cycles == 2 * (1 << SEGMENT_LOG):        # the replay stopped at segment 3's start
            values[np.searchsorted(keys, victim)] ^= 0x5A5A
        return values

    monkeypatch.setattr(SG, "_start_values", forged)
    _rejected(_prove(elf, PUBLIC, PRIVATE), match="does not join up")


def test_private_input_does_not_appear_in_the_receipt(receipt):
    data = receipt.encode()
    assert PRIVATE not in data and PRIVATE[::-1] not in data


def test_a_plan_that_misses_a_cell_is_refused_in_one_line(elf, monkeypatch):
    honest = SG._memory_keys
    monkeypatch.setattr(SG, "_memory_keys", lambda rows, prog: honest(rows, prog)[1:])
    with pytest.raises(ValueError, match="not listed"):
        _prove(elf, PUBLIC, PRIVATE)


def _forge_private_table(monkeypatch, forge) -> None:
    """Let the coordinator build the memory proof's private table, then change it."""
    honest = S.private_input_trace
    col = {n: i for i, n in enumerate(S.build_private_input().main_names)}

    def forged(wit):
        trace = honest(wit).copy()
        forge(trace, col, len(wit.private))
        return trace

    monkeypatch.setattr(S, "private_input_trace", forged)


def test_the_private_input_is_the_runs_not_a_segments():
    """The segments hold no private table: their reads go over the open ``private`` bus
    to the memory proof's one table, so all of them read one input of one length."""
    seg_system = segment_verifier_system()
    assert S.PRIVATE_TABLE not in [t.name for t in seg_system.tables]
    assert S.BUS_PRIVATE in seg_system.open_buses


def test_a_memory_proof_with_another_private_byte_is_rejected(elf, monkeypatch):
    def flip(trace, col, n):
        trace[0, col["byte"]] ^= 1
    _forge_private_table(monkeypatch, flip)
    _rejected(_prove(elf, PUBLIC, PRIVATE), match="not one private input")


def test_a_private_input_longer_than_a_segment_saw_is_rejected(elf, monkeypatch):
    """The guest's read of fd 3 ends short at the input's end (6 bytes): a memory proof
    whose private input goes on past that point has no end marker where the segment
    looked it up."""
    def lengthen(trace, col, n):
        assert trace.shape[0] > n + 1
        trace[n + 1] = trace[n]
        trace[n + 1, col["pos"]] = n + 1
        trace[n, col["eof"]], trace[n, col["byte"]], trace[n, col["mult"]] = 0, ord("!"), 0
    _forge_private_table(monkeypatch, lengthen)
    _rejected(_prove(elf, PUBLIC, PRIVATE), match="not one private input")


def test_a_claim_of_p_cycles_or_more_is_rejected(receipt):
    """The kernel row's clock equation holds in the field; below p cycles it has one solution."""
    from prover.field import P
    _rejected(dataclasses.replace(receipt, claim=dataclasses.replace(receipt.claim, cycles=P)), match="fewer than")


def test_a_one_segment_run_in_process_commits_its_segment_once(elf, monkeypatch):
    """LocalRunner(1) keeps a one-segment run's round 1 from the commit task for the prove
    task (test_shared_argument shows the proof is the one a second commitment gives); a
    run of several segments commits each again when proving it, keeping none meanwhile."""
    commits = []
    real = SG._commit_round1
    monkeypatch.setattr(SG, "_commit_round1", lambda key, job: commits.append(job.plan.index) or real(key, job))
    one = prove_segmented(elf, PUBLIC, PRIVATE, params=FAST, segment_log=12, runner=SG.LocalRunner(1),
                          join_single_segment=False)
    assert len(one.segment_proofs) == 1 and len(commits) == 1 and not one.joined
    _verify(one)
    commits.clear()
    several = _prove(elf, PUBLIC, PRIVATE)
    n = len(several.segment_proofs)
    assert n > 1 and len(commits) == 2 * n and commits[:n] == commits[n:]
    assert not SG._kept_round1


# ----------------------------------------------------------------------------- joined receipts
@pytest.fixture(scope="module")
def joined(elf) -> SegmentedReceipt:
    return prove_segmented(elf, PUBLIC, PRIVATE, params=FAST, segment_log=12, runner=SG.LocalRunner(1))


@pytest.fixture(scope="module")
def split_one(elf) -> SegmentedReceipt:
    return prove_segmented(elf, PUBLIC, PRIVATE, params=FAST, segment_log=12, runner=SG.LocalRunner(1),
                           join_single_segment=False)


def test_a_one_segment_run_is_one_joined_proof_with_the_same_claim(elf, joined, split_one, receipt):
    """Both layouts of one run claim the same: the image id covers all three keys, so the
    program has one id whether its runs take one segment or many."""
    assert joined.joined and len(joined.segment_proofs) == 1 and joined.memory_proof == b""
    assert decode(joined.encode()) == joined
    claim = _verify(joined)
    assert claim == _verify(split_one)
    assert claim.image_id == receipt.claim.image_id == SG.image_id(elf, FAST)
    res = vm.execute(elf, PUBLIC, PRIVATE)
    assert (claim.journal, claim.exit_code, claim.cycles) == (res.journal, res.exit_code, res.cycles)
    assert len(joined.encode()) < len(split_one.encode())


def test_a_joined_proof_counts_only_under_the_joined_key(joined, split_one):
    """The layout byte picks the key: a joined proof read as a segment's (with or without a
    memory proof) and a segment's proof read as joined are rejected."""
    _rejected(dataclasses.replace(joined, joined=False))
    _rejected(dataclasses.replace(joined, joined=False, memory_proof=split_one.memory_proof))
    _rejected(dataclasses.replace(split_one, joined=True, memory_proof=b""))
    _rejected(dataclasses.replace(joined, joined_key=split_one.segment_key))
    with pytest.raises(VerificationError, match="one segment"):
        decode(dataclasses.replace(joined, segment_proofs=joined.segment_proofs * 2).encode())


def test_a_joined_proof_of_another_run_or_claim_is_rejected(elf, joined):
    other = prove_segmented(elf, OTHER_PUBLIC, OTHER_PRIVATE, params=FAST, segment_log=12, runner=SG.LocalRunner(1))
    _rejected(dataclasses.replace(joined, segment_proofs=other.segment_proofs))
    c = joined.claim
    for changed in (dataclasses.replace(c, journal=other.claim.journal), dataclasses.replace(c, exit_code=c.exit_code ^ 1),
                    dataclasses.replace(c, cycles=c.cycles - 1), dataclasses.replace(c, input=OTHER_PUBLIC)):
        _rejected(dataclasses.replace(joined, claim=changed))
    _rejected(dataclasses.replace(joined, input_read=joined.input_read - 1))


def test_a_joined_proof_with_another_private_byte_is_rejected(elf, monkeypatch):
    """The private bus is closed inside a joined proof: a private table that differs from
    what the segment's reads saw does not balance (the engine's closed-bus check)."""
    def flip(trace, col, n):
        trace[0, col["byte"]] ^= 1
    _forge_private_table(monkeypatch, flip)
    with pytest.raises(VerificationError, match="closed bus"):
        verify_segmented(prove_segmented(elf, PUBLIC, PRIVATE, params=FAST, segment_log=12,
                                         runner=SG.LocalRunner(1)).encode(), allow_insecure=True)


def test_a_joined_task_refuses_a_run_longer_than_its_segment(elf):
    plan = SG.plan_segments(SG.segment_keys(elf, FAST), PUBLIC, PRIVATE, 1 << SEGMENT_LOG, 1 << 20)
    job = SG.SegmentJob(elf, PUBLIC, PRIVATE, FAST.name, plan.segments[0], {}, bytes(32))
    with pytest.raises(ValueError, match="not a one-segment run"):
        SG.run_task("joined", job.encode())
