"""Receipts end to end: prove a guest, verify the receipt, and reject every change to it.

The guest (tests/prover/zkmips/io_guest.py) reads its public and private input, writes a
mix of both to the journal and exits with a code computed from them, so the claim's
input, journal and exit code all depend on the run. Proofs use the insecure
test preset (the verifier must be told to accept it), which is what keeps this fast.
"""

from __future__ import annotations

import dataclasses
import json
import random
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vm
from prover.errors import VerificationError
from prover.keccak import keccak256
from prover.security import INSECURE_FAST_TEST_PARAMS as FAST
from prover.zkmips import keys
from prover.zkmips import syscall as S
from prover.zkmips.claim import Claim
from prover.zkmips.prove import NotProvableError, prove
from prover.zkmips.receipt import Receipt, decode, verify_receipt
from tests.prover.zkmips.io_guest import GUEST, PRIVATE, PUBLIC, build_io_guest



@pytest.fixture(scope="module")
def elf(compile_c) -> bytes:
    return build_io_guest(compile_c)


@pytest.fixture(scope="module")
def receipt(elf) -> Receipt:
    return prove(elf, PUBLIC, PRIVATE, params=FAST)


@pytest.fixture(scope="module")
def data(receipt) -> bytes:
    return receipt.encode()


def _verify(data: bytes, **kw) -> Claim:
    return verify_receipt(data, allow_insecure=True, **kw)


def _with_claim(receipt: Receipt, **changes) -> bytes:
    return dataclasses.replace(receipt, claim=dataclasses.replace(receipt.claim, **changes)).encode()


def test_receipt_claims_what_the_vm_computes(elf, data):
    ran = vm.execute(elf, PUBLIC, PRIVATE)
    claim = _verify(data)
    assert (claim.journal, claim.exit_code, claim.cycles) == (ran.journal, ran.exit_code, ran.cycles)
    assert claim.input == PUBLIC and PRIVATE not in data
    assert claim.image_id == keys.image_id(elf, FAST)
    assert _verify(data, expected_image_id=claim.image_id) == claim


def test_decode_round_trip(receipt, data):
    assert decode(data) == receipt and decode(data).encode() == data


def test_insecure_preset_refused_by_default(data):
    with pytest.raises(VerificationError, match="insecure test preset"):
        verify_receipt(data)


def test_other_expected_image_id_rejected(data):
    with pytest.raises(VerificationError, match="is not the expected"):
        _verify(data, expected_image_id=bytes(32))


def _flip(data: bytes, i: int) -> bytes:
    out = bytearray(data)
    out[i] ^= 1
    return bytes(out)


def test_changed_journal_byte_rejected(receipt):
    with pytest.raises(VerificationError, match="public values differ"):
        _verify(_with_claim(receipt, journal=_flip(receipt.claim.journal, 3)))


def _claim_forgery(elf, **changes) -> bytes:
    """A receipt whose public values (the io digest) agree with a changed claim while the
    proof's open buses carry the run's real bytes: only the bus check can catch it."""
    def fault(wit, claim):
        claim = dataclasses.replace(claim, **changes)
        pv = wit.publics[S.SYSCALL_TABLE]
        wit.publics[S.SYSCALL_TABLE] = S.syscall_publics(claim.input, claim.journal, claim.exit_code, pv[2],
                                                              claim.cycles)
        return claim
    return prove(elf, PUBLIC, PRIVATE, params=FAST, fault=fault).encode()


def test_journal_byte_forged_under_a_matching_digest_rejected(elf, receipt):
    with pytest.raises(VerificationError, match="journal bytes differ"):
        _verify(_claim_forgery(elf, journal=_flip(receipt.claim.journal, 5)))


def test_input_byte_forged_under_a_matching_digest_rejected(elf, receipt):
    with pytest.raises(VerificationError, match="public input bytes differ"):
        _verify(_claim_forgery(elf, input=_flip(receipt.claim.input, 2)))


def test_truncated_journal_rejected(receipt):
    with pytest.raises(VerificationError):
        _verify(_with_claim(receipt, journal=receipt.claim.journal[:-1]))


def test_changed_input_byte_rejected(receipt):
    with pytest.raises(VerificationError, match="public values differ"):
        _verify(_with_claim(receipt, input=_flip(receipt.claim.input, 0)))


def test_changed_exit_code_rejected(receipt):
    with pytest.raises(VerificationError, match="public values differ"):
        _verify(_with_claim(receipt, exit_code=receipt.claim.exit_code ^ 1))


def test_changed_cycle_count_rejected(receipt):
    with pytest.raises(VerificationError, match="public values differ"):
        _verify(_with_claim(receipt, cycles=receipt.claim.cycles + 1))


def test_changed_input_read_rejected(receipt):
    with pytest.raises(VerificationError):
        _verify(dataclasses.replace(receipt, input_read=receipt.input_read - 1).encode())


def test_another_entry_rejected(receipt):
    with pytest.raises(VerificationError, match="image id does not match"):
        _verify(dataclasses.replace(receipt, entry=receipt.entry + 4).encode())


def test_different_image_rejected(receipt, compile_c):
    """A receipt renamed to another program (its image id and key) does not verify."""
    other = build_io_guest(compile_c, GUEST.replace("h >> 24", "h >> 16"))
    key = keys.program_key(other, FAST)
    renamed = dataclasses.replace(receipt, claim=dataclasses.replace(receipt.claim, image_id=key.image_id),
                                  pre_root=key.pk.vk.pre_root, pre_log_heights=key.pk.vk.pre_log_heights)
    with pytest.raises(VerificationError):
        _verify(renamed.encode())


def test_random_single_byte_changes_all_rejected(data):
    rng = random.Random(2026)
    header = range(min(len(data), 400))                       # magic, claim and key: every byte
    positions = list(header) + [rng.randrange(len(data)) for _ in range(100)]
    for pos in positions:
        changed = bytearray(data)
        changed[pos] ^= 1 << rng.randrange(8)
        with pytest.raises(VerificationError):
            _verify(bytes(changed))


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.binary(max_size=600), st.binary().map(lambda b: b"ZKMR\x01\x00\x00\x00" + b)))
def test_arbitrary_bytes_never_crash_the_verifier(blob):
    with pytest.raises(VerificationError):
        _verify(blob)


def test_spliced_receipts_never_crash_the_verifier(data):
    """Real receipt bytes cut and joined at random places (lengths and counts that lie)."""
    rng = random.Random(7)
    for _ in range(40):
        a, b = sorted(rng.randrange(len(data)) for _ in range(2))
        if a == b:
            continue
        with pytest.raises(VerificationError):
            _verify(data[:a] + data[b:] + data[a:b])


def test_truncations_rejected(data):
    for cut in (0, 4, 8, 40, 100, len(data) // 2, len(data) - 1):
        with pytest.raises(VerificationError):
            _verify(data[:cut])
    with pytest.raises(VerificationError, match="trailing bytes"):
        _verify(data + b"\0")


def test_unprovable_run_is_refused_in_one_line(compile_c):
    looping = compile_c("void __start(void) { for (;;) ; }", "-O1", ("-nostdlib", "-mno-abicalls", "-fno-pic"))
    with pytest.raises(NotProvableError, match=r"did not exit within 5000 cycles") as e:
        prove(looping.read_bytes(), params=FAST, max_cycles=5000)
    assert "\n" not in str(e.value)


def test_cli_prove_verify_inspect(elf, tmp_path):
    """The three commands as a user runs them (insecure preset only to keep this fast)."""
    def zkmips(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "zkmips.cli", *args], capture_output=True, timeout=600)

    program, public, private, out = (tmp_path / n for n in ("g.elf", "in.bin", "secret.bin", "g.receipt"))
    program.write_bytes(elf)
    public.write_bytes(PUBLIC)
    private.write_bytes(PRIVATE)
    proved = zkmips("prove", str(program), "--input", str(public), "--private-input", str(private), "-o", str(out),
                    "--preset", FAST.name, "--json")
    assert proved.returncode == 0, proved.stderr
    summary = json.loads(proved.stdout)
    assert summary["receipt_bytes"] == out.stat().st_size and summary["cycles"] > 0
    assert b"prove:" in proved.stderr                                  # the progress bar
    ok = zkmips("verify", str(out), "--json", "--allow-insecure", "--image-id", summary["image_id"])
    assert ok.returncode == 0, ok.stderr
    claim = json.loads(ok.stdout)
    ran = vm.execute(elf, PUBLIC, PRIVATE)
    assert claim == {"image_id": summary["image_id"], "input_digest": keccak256(PUBLIC).hex(),
                     "journal": ran.journal.hex(), "exit_code": ran.exit_code, "cycles": ran.cycles}
    refused = zkmips("verify", str(out))                                # insecure preset, not allowed
    assert refused.returncode == 1 and refused.stdout == b"" and refused.stderr.count(b"\n") == 1
    bad = tmp_path / "bad.receipt"
    bad.write_bytes(_flip(out.read_bytes(), out.stat().st_size // 2))
    rejected = zkmips("verify", str(bad), "--allow-insecure", "--json")
    assert rejected.returncode == 1 and rejected.stdout == b"" and rejected.stderr.startswith(b"zkmips: invalid receipt:")
    too_long = zkmips("prove", str(program), "-o", str(tmp_path / "x.receipt"), "--preset", FAST.name,
                      "--max-cycles", "100", "-q")
    assert too_long.returncode == 125 and too_long.stderr.count(b"\n") == 1
    assert too_long.stderr.startswith(b"zkmips: error: cannot prove this run: program did not exit within 100 cycles")
    shown = zkmips("inspect", str(out), "--json")
    assert shown.returncode == 0
    info = json.loads(shown.stdout)
    assert info["verified"] is False and info["journal"] == claim["journal"] and "cpu" in info["tables"]
