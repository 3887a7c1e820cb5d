"""The clinic's ECG classifier (docs/clinic-model.md): the guest (guests/ecg) against the
fixed-point reference ``ecg_format.infer`` on the whole held-out test set, the accuracy of
the quantised model, and the formats' strictness."""

from __future__ import annotations

import hashlib
import json
import struct
import time
from pathlib import Path

import numpy as np
import pytest

import vm
from marketplace.clinic import ecg_format as F
from tests.conftest import guest

MODEL_DIR = Path(__file__).resolve().parents[2] / "guests" / "ecg" / "model"
SAMPLES_DIR = MODEL_DIR.parent / "samples"
MAX_CYCLES = 5_000_000
CYCLE_BUDGET = 300_000        # one diagnosis, SHA-256 of weights and ECG included


@pytest.fixture(scope="module")
def weights() -> bytes:
    return (MODEL_DIR / "weights.bin").read_bytes()


@pytest.fixture(scope="module")
def testset():
    """The held-out ECGs (guests/ecg/train.py packs them as byte planes of their differences
    modulo 2^16), their labels and the float model's predictions."""
    with np.load(MODEL_DIR / "testset.npz") as z:
        ecg = F.unpack_ecgs(z)
        assert ecg.shape[1] == F.ECG_SAMPLES
        return {"ecg": ecg, "label": z["label"], "float_pred": z["float_pred"]}


@pytest.fixture(scope="module")
def report() -> dict:
    return json.loads((MODEL_DIR / "report.json").read_text())


@pytest.fixture(scope="module")
def program():
    return vm.load_elf(guest("ecg").read_bytes())


def run_guest(program, weights: bytes, ecg: bytes, private: bytes | None = None):
    data = F.private_input(weights, ecg) if private is None else private
    return vm.execute(program, b"", data, max_cycles=MAX_CYCLES)


def ecg_bytes(testset, i: int) -> bytes:
    return testset["ecg"][i].astype("<i2").tobytes()


# ------------------------------------------------------------------ guest == reference

def test_guest_matches_reference_on_the_whole_testset(program, weights, testset):
    """Every held-out ECG: the guest's journal is exactly encode_journal(infer(...))."""
    cycles = []
    start = time.perf_counter()
    for i in range(len(testset["label"])):
        ecg = ecg_bytes(testset, i)
        ran = run_guest(program, weights, ecg)
        assert ran.exit_code == 0, ran.log
        expected = F.infer(weights, ecg)
        assert F.decode_journal(ran.journal) == expected, f"test example {i}"
        assert ran.journal == F.encode_journal(expected)
        cycles.append(ran.cycles)
    elapsed = time.perf_counter() - start
    print(f"\n{len(cycles)} diagnoses in {elapsed:.1f} s; cycles per diagnosis: "
          f"min {min(cycles)}, max {max(cycles)}")
    assert max(cycles) <= CYCLE_BUDGET


def test_sample_ecgs_are_diagnosed_as_their_class(program, weights):
    for i, name in enumerate(F.CLASSES):
        ecg = (SAMPLES_DIR / f"{name}.ecg").read_bytes()
        assert len(ecg) == F.ECG_BYTES
        ran = run_guest(program, weights, ecg)
        d = F.decode_journal(ran.journal)
        assert (d.predicted, d.label) == (i, name)
        assert d == F.infer(weights, ecg)
        assert d.model_commitment == hashlib.sha256(weights).digest()
        assert d.ecg_digest == hashlib.sha256(ecg).digest()


def test_extreme_ecgs_match_the_reference(program, weights):
    """Flat, saturated and alternating signals exercise the zero and overflow edges."""
    rng = np.random.default_rng(7)
    cases = [np.zeros(F.ECG_SAMPLES), np.full(F.ECG_SAMPLES, -32768),
             np.tile([32767, -32768], F.ECG_SAMPLES // 2),
             rng.integers(-32768, 32768, F.ECG_SAMPLES),
             np.r_[np.zeros(F.ECG_SAMPLES - 1), 32767]]
    for samples in cases:
        ecg = F.encode_ecg(samples)
        ran = run_guest(program, weights, ecg)
        assert ran.exit_code == 0, ran.log
        assert F.decode_journal(ran.journal) == F.infer(weights, ecg)


@pytest.mark.parametrize("n_in,n_hidden", [(1, 1), (15, 1), (1, 24), (23, 1), (24, 1), (7, 3), (64, 32),
                                            (128, 64)])
def test_random_models_of_any_size_match_the_reference(program, testset, n_in, n_hidden):
    """Other weights files (sizes that take SHA-256's one- and two-block padding, extreme
    weights and biases, every shift) give the reference's journal too."""
    rng = np.random.default_rng(n_in * 1000 + n_hidden)
    n_out = len(F.CLASSES)
    for shift in (0, 7, 24):
        w = F.pack_weights(rng.integers(-128, 128, (n_hidden, n_in)),
                           rng.integers(-(1 << 24), (1 << 24) + 1, n_hidden),
                           rng.integers(-128, 128, (n_out, n_hidden)),
                           rng.integers(-(1 << 24), (1 << 24) + 1, n_out), shift)
        ecg = ecg_bytes(testset, shift % len(testset["label"]))
        ran = run_guest(program, w, ecg)
        assert ran.exit_code == 0, ran.log
        assert F.decode_journal(ran.journal) == F.infer(w, ecg), (len(w), shift)


# ---------------------------------------------------------------------------- accuracy

def test_fixed_point_accuracy_is_within_one_point_of_float(weights, testset, report):
    acc = report["accuracy_percent"]
    assert abs(acc["fixed_test"] - acc["float_test"]) <= 1.0
    assert acc["fixed_test"] >= 90.0
    labels = testset["label"].astype(int)
    fixed = np.array([F.infer(weights, ecg_bytes(testset, i)).predicted for i in range(len(labels))])
    fixed_acc = 100.0 * float(np.mean(fixed == labels))
    float_acc = 100.0 * float(np.mean(testset["float_pred"].astype(int) == labels))
    assert fixed_acc == pytest.approx(acc["fixed_test"], abs=0.01)
    assert float_acc == pytest.approx(acc["float_test"], abs=0.01)
    assert abs(fixed_acc - float_acc) <= 1.0
    assert report["samples"]["test"] == len(labels)
    assert np.array(report["confusion_fixed_test"]).sum() == len(labels)
    assert report["classes"] == list(F.CLASSES)


def test_model_files_are_small(weights):
    assert len(weights) <= 8 * 1024
    assert (MODEL_DIR / "testset.npz").stat().st_size < 300 * 1024
    assert F.weights_commitment(weights) == hashlib.sha256(weights).digest()
    F.check_weights(weights)


# ----------------------------------------------------------------------------- journal

def test_journal_reveals_neither_weights_nor_ecg(program, weights, testset):
    ecg = ecg_bytes(testset, 0)
    journal = run_guest(program, weights, ecg).journal
    assert len(journal) == F.JOURNAL_FIXED + 4 * len(F.CLASSES)
    for secret in (weights, ecg):
        windows = {secret[i:i + 16] for i in range(len(secret) - 15)}
        assert not any(journal[i:i + 16] in windows for i in range(len(journal) - 15))


def test_decode_journal_is_strict(weights, testset):
    d = F.infer(weights, ecg_bytes(testset, 0))
    journal = F.encode_journal(d)
    assert F.decode_journal(journal) == d
    assert d.label == F.CLASSES[d.predicted]
    bad = [b"ECG2" + journal[4:], journal[:-1], journal + b"\0", b"", journal[:4],
           journal[:72] + struct.pack("<I", 5) + journal[76:] + b"\0\0\0\0",   # 5 classes
           journal[:68] + struct.pack("<I", len(F.CLASSES)) + journal[72:]]   # class out of range
    wrong = (d.predicted + 1) % len(F.CLASSES)                                 # not the argmax
    bad.append(journal[:68] + struct.pack("<I", wrong) + journal[72:])
    for b in bad:
        with pytest.raises(F.FormatError):
            F.decode_journal(b)


def test_ecg_file_format():
    samples = np.arange(F.ECG_SAMPLES) * 70 - 35000.4
    data = F.encode_ecg(samples)
    assert len(data) == F.ECG_BYTES
    back = F.decode_ecg(data)
    assert back.dtype == np.int16 and back[0] == -32768 and back[-1] == 32767
    assert back[600] == round(600 * 70 - 35000.4)
    for wrong in (data[:-2], data + b"\0\0", b""):
        with pytest.raises(F.FormatError):
            F.decode_ecg(wrong)
    with pytest.raises(F.FormatError):
        F.encode_ecg(samples[:-1])


# ------------------------------------------------------------------- weights changes

def test_changed_weights_change_the_commitment(program, weights, testset):
    ecg = ecg_bytes(testset, 1)
    w = F.parse_weights(weights)
    changed = F.pack_weights(w.w1, w.b1, w.w2, w.b2 + np.array([5, 0, 0, 0]), w.shift)
    a = F.decode_journal(run_guest(program, weights, ecg).journal)
    b = F.decode_journal(run_guest(program, changed, ecg).journal)
    assert a.model_commitment != b.model_commitment
    assert b.model_commitment == hashlib.sha256(changed).digest()
    assert a.ecg_digest == b.ecg_digest
    assert b == F.infer(changed, ecg)
    assert b.scores[0] == a.scores[0] + 5


MALFORMED_CASES = ["bad magic", "bad version", "n_in zero", "n_hidden too large", "five classes",
                   "shift too large", "reserved byte", "truncated weights", "extra byte",
                   "bias out of range", "header only", "short ECG", "long ECG",
                   "length beyond input", "empty", "three bytes"]


def _malformed(weights: bytes) -> dict[str, bytes]:
    """Private inputs the guest must refuse (name -> private input)."""
    ecg = F.encode_ecg(np.zeros(F.ECG_SAMPLES))
    w = bytes(weights)

    def patched(offset: int, value: bytes) -> bytes:
        b = bytearray(w)
        b[offset:offset + len(value)] = value
        return bytes(b)

    pi = F.private_input
    parsed = F.parse_weights(weights)
    b1_offset = F.WEIGHTS_HEADER + parsed.n_hidden * parsed.n_in
    return {
        "bad magic": pi(patched(0, b"ECGX"), ecg),
        "bad version": pi(patched(4, struct.pack("<H", 2)), ecg),
        "n_in zero": pi(patched(6, struct.pack("<H", 0)), ecg),
        "n_hidden too large": pi(patched(8, struct.pack("<H", 65)), ecg),
        "five classes": pi(patched(10, struct.pack("<H", 5)), ecg),
        "shift too large": pi(patched(12, b"\x19"), ecg),
        "reserved byte": pi(patched(14, b"\x01"), ecg),
        "truncated weights": pi(bytes(w[:-1]), ecg),
        "extra byte": pi(bytes(w) + b"\0", ecg),
        "bias out of range": pi(patched(b1_offset, struct.pack("<i", (1 << 24) + 1)), ecg),
        "header only": pi(bytes(w[:F.WEIGHTS_HEADER]), ecg),
        "short ECG": pi(bytes(w), ecg[:-2]),
        "long ECG": pi(bytes(w), ecg + b"\0\0"),
        "length beyond input": struct.pack("<I", 1 << 31) + bytes(w) + ecg,
        "empty": b"",
        "three bytes": b"\x10\0\0",
    }


@pytest.mark.parametrize("case", MALFORMED_CASES)
def test_malformed_private_input_is_refused(program, weights, case):
    private = _malformed(weights)[case]
    ran = run_guest(program, weights, b"", private=private)
    assert ran.exit_code != 0
    assert ran.journal == b""
    assert ran.log.startswith(b"ecg: ")
    # the reference refuses the same inputs
    if len(private) >= 4:
        n = struct.unpack_from("<I", private)[0]
        with pytest.raises(F.FormatError):
            F.infer(private[4:4 + n], private[4 + n:])


def test_bias_offset_in_malformed_cases_points_at_b1(weights):
    """Guards the 'bias out of range' case above: its offset is b1[0]."""
    w = F.parse_weights(weights)
    off = F.WEIGHTS_HEADER + w.n_hidden * w.n_in
    assert struct.unpack_from("<i", weights, off)[0] == w.b1[0]
    private = _malformed(weights)["bias out of range"]
    assert struct.unpack_from("<i", private, 4 + off)[0] == (1 << 24) + 1


def test_packed_ecg_sets_unpack_to_the_same_samples():
    x = np.random.default_rng(3).integers(-32768, 32768, size=(5, F.ECG_SAMPLES)).astype(np.int16)
    packed = F.pack_ecgs(x)
    assert {k: v.dtype for k, v in packed.items()} == {"diff_lo": np.uint8, "diff_hi": np.uint8}
    assert np.array_equal(F.unpack_ecgs(packed), x)
