"""Train, quantise and export the clinic's ECG rhythm classifier (docs/clinic-model.md).

    .venv/bin/python guests/ecg/train.py        # or: make ecg-model

Seeded and deterministic: simulates labelled 10 s ECGs with neurokit2, computes the integer
features of marketplace/clinic/ecg_format.py, trains a small MLP (scikit-learn), quantises
it to the weights file the guest reads and writes, next to this script:

    model/weights.bin     the demo provider's private weights
    model/report.json     float and fixed-point accuracy on the held-out split, confusion
                          matrix, classes, sample counts, seed, versions
    model/confusion.svg   the fixed-point confusion matrix, drawn
    model/testset.npz     the held-out ECGs (int16) and labels, for tests/clinic
    samples/<class>.ecg   one held-out ECG per class, for demos
    private.txt           the guest's private input for the normal sample (the guest
                          corpus's differential test runs it under qemu-mipsel and the VM)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from marketplace.clinic import ecg_format as F  # noqa: E402

SEED = 20250607
PER_CLASS = 300            # simulated ECGs per class
TEST_FRACTION = 0.2        # held-out split (stratified)
N_IN = 48                  # autocorrelation lags 1..N_IN at 25 Hz (40 ms .. 1.92 s)
N_HIDDEN = 24
SIMPLE_FRACTION = 0.25     # share of the regular classes drawn with neurokit2's "simple" method

# Heart-rate ranges (bpm) of each class, by the clinical definitions (normal sinus rhythm
# 60..100 bpm, bradycardia < 60, tachycardia > 100) with one bpm kept clear of each border.
# heart_rate_std is drawn as a fraction of the rate: regular rhythms up to 4 %, the irregular
# (AF-like) class 10..30 %, at any rate from 60 to 150 bpm.
CLASS_SPECS = {
    "normal": dict(hr=(61.0, 98.9), std=(0.0, 0.04)),
    "bradycardia": dict(hr=(38.0, 59.0), std=(0.0, 0.04)),
    "tachycardia": dict(hr=(101.0, 168.0), std=(0.0, 0.04)),
    "irregular": dict(hr=(60.0, 150.0), std=(0.10, 0.30)),
}
# neurokit2's "simple" ECG repeats a whole number of beats over the 10 s (its rate is a
# multiple of 6 bpm): the beats of each regular class's simple ECGs.
SIMPLE_BEATS = {"normal": (11, 16), "bradycardia": (6, 9), "tachycardia": (17, 28)}


def draw_spec(label: int, index: int) -> dict:
    """The parameters of one simulated ECG, from its own seed (independent of the others)."""
    name = F.CLASSES[label]
    rng = np.random.default_rng([SEED, label, index])
    cs = CLASS_SPECS[name]
    hr = float(rng.uniform(*cs["hr"]))
    hr_std = float(hr * rng.uniform(*cs["std"]))
    method = "ecgsyn"
    if name in SIMPLE_BEATS and rng.random() < SIMPLE_FRACTION:
        method = "simple"
        beats = int(rng.integers(SIMPLE_BEATS[name][0], SIMPLE_BEATS[name][1] + 1))
        hr, hr_std = beats * 6 + 0.5, 0.0     # int(10 s * hr / 60) == beats
    return dict(
        label=label, index=index, method=method, heart_rate=hr, heart_rate_std=hr_std,
        noise=float(rng.uniform(0.0, 0.15)),          # laplace noise amplitude (mV)
        gain=float(rng.uniform(0.5, 2.0)),            # R-peak scale, ~mV
        invert=bool(rng.random() < 0.1),              # an inverted lead
        wander=float(rng.uniform(0.0, 0.4)),          # baseline wander amplitude (mV)
        wander_hz=float(rng.uniform(0.1, 0.5)),
        phase=float(rng.uniform(0, 2 * np.pi)),
        offset=float(rng.uniform(-300, 300)),         # DC offset (uV)
        shift=int(rng.integers(0, F.ECG_SAMPLES)),    # start phase of the periodic "simple" ECG
        seed=int(rng.integers(0, 2**31 - 1)),
    )


def ecgsyn_would_hang(heart_rate: float, heart_rate_std: float, seed: int) -> bool:
    """neurokit2 0.2.13's ecgsyn loops forever for some seeds: its upsampled RR series ends
    in 0 s, and when its beat walk lands exactly on that last sample it never advances.
    This replays the walk (the same random draws ecg_simulate makes first) to avoid them."""
    from neurokit2.ecg.ecg_simulate import _ecg_simulate_rrprocess
    from neurokit2.misc import check_random_state
    from neurokit2.signal import signal_resample
    rng = check_random_state(seed)
    beats = int(np.round(F.ECG_SAMPLES / F.ECG_RATE_HZ * heart_rate / 60))
    n = 2 ** (np.ceil(np.log2(beats * 60 / heart_rate)))
    rr0 = _ecg_simulate_rrprocess(0.1, 0.25, 0.01, 0.01, 0.5, heart_rate, heart_rate_std, 1, n, rng)
    rr = signal_resample(rr0, sampling_rate=1, desired_sampling_rate=F.ECG_RATE_HZ)
    t, i, dt = 0.0, 0, 1.0 / F.ECG_RATE_HZ
    while i < len(rr):
        t += rr[i]
        ip = int(np.round(t / dt))
        if ip <= i:
            return True
        i = ip
    return False


def simulate(spec: dict) -> np.ndarray:
    """One ECG (int16 microvolts, ECG_SAMPLES) from its parameters."""
    import neurokit2 as nk
    warnings.filterwarnings("ignore")
    ecg = None
    for attempt in range(50):
        # another seed and a rate nudged by at most 1 % (still inside the class) when ecgsyn
        # would hang: a nearly constant rhythm hangs for every seed at some rates
        seed = spec["seed"] + 7919 * attempt
        hr = spec["heart_rate"] * (1 + 0.0002 * attempt)
        if spec["method"] == "ecgsyn" and ecgsyn_would_hang(hr, spec["heart_rate_std"], seed):
            continue
        ecg = np.asarray(nk.ecg_simulate(
            duration=F.ECG_SAMPLES // F.ECG_RATE_HZ, sampling_rate=F.ECG_RATE_HZ,
            heart_rate=hr, heart_rate_std=spec["heart_rate_std"],
            method=spec["method"], noise=spec["noise"], random_state=seed),
            dtype=np.float64)
        if ecg.size >= F.ECG_SAMPLES and np.all(np.isfinite(ecg)):
            break
    if ecg.size < F.ECG_SAMPLES:
        ecg = np.pad(ecg, (0, F.ECG_SAMPLES - ecg.size), mode="edge")
    ecg = ecg[:F.ECG_SAMPLES]
    if spec["method"] == "simple":
        # neurokit2's "simple" ECG peaks near 7 (arbitrary units) and is exactly periodic
        # over the 10 s: scale it to ~1.2 mV and start it at a random phase.
        ecg = np.roll(ecg / 6.0, spec["shift"])
    t = np.arange(F.ECG_SAMPLES) / F.ECG_RATE_HZ
    mv = ecg * spec["gain"] * (-1 if spec["invert"] else 1)
    mv = mv + spec["wander"] * np.sin(2 * np.pi * spec["wander_hz"] * t + spec["phase"])
    uv = mv * 1000.0 + spec["offset"]
    return np.frombuffer(F.encode_ecg(uv), dtype="<i2").astype(np.int16)


def simulate_all(specs: list[dict], jobs: int) -> np.ndarray:
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            out = list(pool.map(simulate, specs, chunksize=8))
    else:
        out = [simulate(s) for s in specs]
    return np.stack(out)


HEADROOM_HIDDEN = 8000.0   # the largest training activation maps below this (clamp at 32767)


def quantise(clf, feats_train: np.ndarray) -> tuple[bytes, dict]:
    """Float MLP (input f/128) -> the integer weights file (docs/clinic-model.md)."""
    W1 = clf.coefs_[0].T          # (hidden, in), acting on x = f / 128
    b1 = clf.intercepts_[0]
    W2 = clf.coefs_[1].T          # (out, hidden)
    b2 = clf.intercepts_[1]
    # W1 in Q(a): q = round(W1 * 2^a), the largest a that fits int8. acc1 = f . qW1 carries
    # 2^(7 + a) (f is Q7); b1 gets the same scale.
    a = int(np.floor(np.log2(127.0 / np.abs(W1).max())))
    qW1 = np.clip(np.rint(W1 * 2.0**a), -127, 127).astype(np.int64)
    qb1 = np.rint(b1 * 2.0 ** (7 + a)).astype(np.int64)
    # Hidden activation in Q(hq): the most fraction bits such that the largest training
    # activation (plus headroom) stays below 32767 and the shift 7 + a - hq is >= 0.
    hmax = max(float(np.maximum(feats_train / 128.0 @ W1.T + b1, 0).max()), 1e-6)
    hq = min(int(np.floor(np.log2(HEADROOM_HIDDEN / hmax))), 7 + a)
    shift = 7 + a - hq
    # W2 in Q(b); scores carry 2^(hq + b).
    b = int(np.floor(np.log2(127.0 / np.abs(W2).max())))
    qW2 = np.clip(np.rint(W2 * 2.0**b), -127, 127).astype(np.int64)
    qb2 = np.rint(b2 * 2.0 ** (hq + b)).astype(np.int64)
    return F.pack_weights(qW1, qb1, qW2, qb2, shift), dict(w1_frac_bits=a, hidden_frac_bits=hq,
                                                            shift=shift, w2_frac_bits=b,
                                                            score_frac_bits=hq + b)


def confusion(y_true, y_pred, n) -> list[list[int]]:
    m = np.zeros((n, n), dtype=int)
    for t, p in zip(y_true, y_pred):
        m[t, p] += 1
    return m.tolist()


def draw_confusion(matrix, path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    matplotlib.rcParams["svg.hashsalt"] = str(SEED)   # deterministic ids in the SVG
    m = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(F.CLASSES)), F.CLASSES, rotation=30, ha="right")
    ax.set_yticks(range(len(F.CLASSES)), F.CLASSES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, str(m[i, j]), ha="center", va="center",
                    color="white" if m[i, j] > m.max() / 2 else "black")
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1),
                    help="processes simulating ECGs (the result does not depend on it)")
    ap.add_argument("--cache", type=Path, help="reuse/save the simulated ECGs here (.npz; development)")
    ap.add_argument("--out", type=Path, default=HERE, help="where model/ and samples/ go")
    args = ap.parse_args(argv)

    import neurokit2
    import sklearn
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    specs = [draw_spec(c, i) for c in range(len(F.CLASSES)) for i in range(PER_CLASS)]
    y = np.array([s["label"] for s in specs])
    if args.cache and args.cache.exists():
        X = np.load(args.cache)["ecg"]
    else:
        print(f"simulating {len(specs)} ECGs with neurokit2 {neurokit2.__version__} ({args.jobs} processes)...",
              flush=True)
        X = simulate_all(specs, args.jobs)
        if args.cache:
            np.savez_compressed(args.cache, ecg=X)
    feats = F.features_batch(X, N_IN)

    idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=TEST_FRACTION, stratify=y,
                                           random_state=SEED)
    clf = MLPClassifier(hidden_layer_sizes=(N_HIDDEN,), activation="relu", alpha=1e-3,
                        learning_rate_init=3e-3, max_iter=3000, tol=1e-6, n_iter_no_change=50,
                        random_state=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(feats[idx_train] / 128.0, y[idx_train])
    weights, qfmt = quantise(clf, feats[idx_train])
    w = F.parse_weights(weights)

    def evaluate(idx):
        pf = clf.predict(feats[idx] / 128.0)
        pq = np.argmax(F.forward_batch(w, feats[idx]), axis=1)   # argmax: the first maximum
        return pf, pq

    pf_tr, pq_tr = evaluate(idx_train)
    pf, pq = evaluate(idx_test)
    yt = y[idx_test]
    acc = lambda p, t: round(100.0 * float(np.mean(p == t)), 2)  # noqa: E731
    n = len(F.CLASSES)
    cm_fixed = confusion(yt, pq, n)
    report = {
        "classes": list(F.CLASSES),
        "seed": SEED,
        "samples": {"total": int(len(y)), "train": int(len(idx_train)), "test": int(len(idx_test)),
                    "per_class": {c: int(np.sum(y == i)) for i, c in enumerate(F.CLASSES)},
                    "test_per_class": {c: int(np.sum(yt == i)) for i, c in enumerate(F.CLASSES)}},
        "accuracy_percent": {"float_test": acc(pf, yt), "fixed_test": acc(pq, yt),
                             "float_train": acc(pf_tr, y[idx_train]), "fixed_train": acc(pq_tr, y[idx_train]),
                             "float_fixed_agreement_test": acc(pf, pq)},
        "confusion_fixed_test": cm_fixed,
        "confusion_float_test": confusion(yt, pf, n),
        "confusion_rows": "true class", "confusion_columns": "predicted class",
        "model": {"features": f"normalised autocorrelation of the 25 Hz slope envelope, lags 1..{N_IN} (Q7)",
                  "n_in": N_IN, "n_hidden": N_HIDDEN, "n_out": n, "activation": "relu",
                  "weights_bytes": len(weights), **qfmt, "training_iterations": int(clf.n_iter_)},
        "weights_sha256": F.weights_commitment(weights).hex(),
        "class_specs": CLASS_SPECS,
        "simple_fraction": SIMPLE_FRACTION, "simple_beats": SIMPLE_BEATS,
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "neurokit2": neurokit2.__version__, "scikit-learn": sklearn.__version__},
    }

    model_dir = args.out / "model"
    sample_dir = args.out / "samples"
    model_dir.mkdir(parents=True, exist_ok=True)
    sample_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "weights.bin").write_bytes(weights)
    (model_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    draw_confusion(cm_fixed, model_dir / "confusion.svg",
                   f"fixed-point model, held-out set: {report['accuracy_percent']['fixed_test']}% "
                   f"(float {report['accuracy_percent']['float_test']}%)")
    np.savez_compressed(model_dir / "testset.npz", **F.pack_ecgs(X[idx_test]), label=yt.astype(np.int8),
                        float_pred=pf.astype(np.int8))
    for i, name in enumerate(F.CLASSES):
        # the first held-out ECG of the class that the fixed-point model gets right
        k = next(j for j in range(len(yt)) if yt[j] == i and pq[j] == i)
        (sample_dir / f"{name}.ecg").write_bytes(F.encode_ecg(X[idx_test[k]]))
    # the guest corpus (guests/guest_corpus.py) runs every guest on its private.txt, under
    # the VM and under qemu-mipsel: give it a real diagnosis (the normal sample)
    (args.out / "private.txt").write_bytes(F.private_input(weights, (sample_dir / "normal.ecg").read_bytes()))
    print(json.dumps({k: report[k] for k in ("samples", "accuracy_percent", "confusion_fixed_test")}, indent=1))
    print(f"weights: {len(weights)} bytes, sha256 {report['weights_sha256']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
