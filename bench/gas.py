"""Gas of on-chain settlement: verifying receipts with the EVM verifier, and the market's paths.

* **verify**: receipts of about 2^16 and 2^20 cycles (guests/bench_matmul, N chosen from the
  VM's cycle count), proven at the `compact` preset (the on-chain verifier's), verified with
  ``settlement.onchain_verifier`` step by step: gas of every transaction with its calldata and
  the calldata floor it cannot go below (EIP-7623), the total, the largest, the calldata
  bytes, the receipt's size, and LogUp's soundness bits per proof (docs/audit-stark.md F7).
* **market**: post_request, lock, fulfill, and the optimistic paths (submit + finalize when
  unchallenged; challenge, respond, resolve_challenge), with the real verifier for `fulfill`.

Runs on anvil (npm `@foundry-rs/anvil`, a 30 M block gas limit, the EVM's real code-size
limit); eth-tester charges the same gas (tests/settlement show both). Writes
bench/results/gas.json with the bars of issue [6/7] evaluated. Usage:
``python bench/gas.py [--cycles 16,20] [--preset compact|onchain|default] [--out F] [--receipts DIR]`` (receipts are kept in
var/bench-gas/ between runs).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from prover import logup  # noqa: E402
from prover.keccak import keccak256  # noqa: E402
from prover.security import EXT_FIELD_BITS, PRESETS  # noqa: E402
from prover.zkmips import segment_receipt as SR  # noqa: E402
from settlement import chain  # noqa: E402
from settlement import onchain_verifier as OV  # noqa: E402
from vm import execute  # noqa: E402

GUEST = ROOT / "guests" / "build" / "bench_matmul-O2.elf"
BAR_TX = 30_000_000
BAR_ONE_SEGMENT = 30_000_000
BAR_OPTIMISTIC = 200_000


def _cycles(n: int) -> int:
    return execute(GUEST.read_bytes(), f"{n}\n".encode()).cycles


def pick_input(log_cycles: int) -> tuple[bytes, int]:
    """The smallest matrix size whose run takes at least 2^log_cycles cycles."""
    lo, hi = 1, 256
    while lo < hi:
        mid = (lo + hi) // 2
        if _cycles(mid) >= 1 << log_cycles:
            hi = mid
        else:
            lo = mid + 1
    return f"{lo}\n".encode(), _cycles(lo)


def proven(public: bytes, cache: Path, preset: str = "compact") -> tuple[bytes, float]:
    """A receipt at ``preset`` of the guest on ``public`` and its proving seconds, kept in ``cache``
    (keyed by the circuit, so a changed prover proves again): re-measuring gas needs no proof."""
    params = PRESETS[preset]
    version = SR.receipt_tag(params)
    path = cache / f"{GUEST.stem}-{public.decode().strip()}-{version}.rcpt"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return path.read_bytes(), json.loads(meta.read_text())["prove_seconds"]
    t = time.time()
    data = SR.prove_segmented(GUEST.read_bytes(), public, params=params).encode()
    seconds = time.time() - t
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    meta.write_text(json.dumps({"prove_seconds": seconds}))
    return data, seconds


def verify_case(v: OV.Verifier, log_cycles: int, cache: Path) -> dict:
    public, cycles = pick_input(log_cycles)
    data, prove_s = proven(public, cache, v.params.name)
    rec = SR.decode(data)
    t = time.time()
    result = OV.verify_receipt(v, data)
    return {
        "guest": GUEST.name, "public_input": public.decode().strip(), "cycles": cycles,
        "segments": len(rec.segment_proofs), "receipt_bytes": len(data), "prove_seconds": round(prove_s, 1),
        "onchain_seconds": round(time.time() - t, 1), "transactions": len(result.steps),
        "total_gas": result.total_gas, "max_tx_gas": result.max_gas,
        "calldata_bytes": result.calldata_bytes,
        "by_step": _by_step(result.steps),
        "steps": [{"what": s.what, "gas": s.gas, **_calldata(v.w3, s.tx)} for s in result.steps],
        "logup_error_bits": _logup_bits(rec, v.params),
    }


def _logup_bits(rec: SR.SegmentedReceipt, params) -> dict:
    """LogUp's soundness per proof of the receipt (prover.logup.error_bits: not yet a rated
    term of prover/security.py, docs/audit-stark.md F7)."""
    items = SR.receipt_proofs(rec, SR.receipt_keys(rec, params))
    return {it.what: round(logup.error_bits(it.vk.system, it.proof.log_heights, EXT_FIELD_BITS), 1) for it in items}


def _calldata(w3, tx: str) -> dict:
    """A step's calldata and the least gas it may pay for it since Prague (EIP-7623: 21,000 +
    10 a token, a zero byte one token and any other four): a step whose gas equals its floor
    is priced by its bytes, not by its execution."""
    data = bytes(w3.eth.get_transaction(tx if tx.startswith("0x") else "0x" + tx)["input"])
    nonzero = sum(1 for b in data if b)
    return {"calldata_bytes": len(data), "calldata_floor": 21_000 + 10 * (len(data) - nonzero + 4 * nonzero)}


def _by_step(steps) -> dict:
    out: dict[str, int] = {}
    for s in steps:
        kind = "begin" if s.what.endswith("begin") else "queries" if "queries" in s.what else s.what
        out[kind] = out.get(kind, 0) + s.gas
    return out


def market_paths(w3, verifier: OV.Verifier, data: bytes) -> dict:
    """Gas of every market transaction, with `fulfill` against the real verifier (the receipt
    `data` is verified on-chain first) and the optimistic paths."""
    claim = SR.decode(data).claim
    client, prover, challenger = w3.eth.accounts[1:4]
    market = chain.MarketClient.deploy(w3, verifier.address)
    for who in (client, prover, challenger):
        market.deposit(10**19, sender=who)
    gas: dict[str, int] = {}

    def post(rid: bytes) -> None:
        now = w3.eth.get_block("latest")["timestamp"]
        r = market.post_request(rid, image_id=claim.image_id, input_digest=claim.input_digest,
                                max_cycles=claim.cycles, price_min=10**15, price_max=2 * 10**15, ramp_seconds=60,
                                lock_timeout=3600, deadline=now + 3 * 86400, stake=10**16, sender=client)
        gas["post_request"] = r["gasUsed"]
        gas["lock"] = market.lock(rid, sender=prover)["gasUsed"]

    jd = keccak256(claim.journal)
    post(b"\x01" * 32)
    gas["fulfill"] = market.fulfill(b"\x01" * 32, journal_digest=jd, exit_code=claim.exit_code, cycles=claim.cycles,
                                    sender=prover)["gasUsed"]
    post(b"\x02" * 32)
    gas["submit_optimistic"] = market.submit_optimistic(b"\x02" * 32, journal=claim.journal, exit_code=claim.exit_code,
                                                        cycles=claim.cycles, sender=prover)["gasUsed"]
    chain.advance_time(w3, market.challenge_window + 1)
    gas["finalize_optimistic"] = market.finalize_optimistic(b"\x02" * 32, sender=challenger)["gasUsed"]
    post(b"\x03" * 32)
    market.submit_optimistic(b"\x03" * 32, journal=claim.journal, exit_code=claim.exit_code, cycles=claim.cycles,
                             sender=prover)
    gas["challenge"] = market.challenge(b"\x03" * 32, sender=challenger)["gasUsed"]
    gas["respond"] = market.respond(b"\x03" * 32, sender=prover)["gasUsed"]
    post(b"\x04" * 32)
    market.submit_optimistic(b"\x04" * 32, journal=claim.journal + b"!", exit_code=claim.exit_code,
                             cycles=claim.cycles, sender=prover)
    market.challenge(b"\x04" * 32, sender=challenger)
    chain.advance_time(w3, market.response_window + 1)
    gas["resolve_challenge"] = market.resolve_challenge(b"\x04" * 32, sender=challenger)["gasUsed"]
    gas["optimistic_unchallenged"] = gas["submit_optimistic"] + gas["finalize_optimistic"]
    gas["journal_bytes"] = len(claim.journal)
    return gas


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", default="16,20", help="log2 of the receipts' cycle counts")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "gas.json"))
    ap.add_argument("--receipts", default=str(ROOT / "var" / "bench-gas"),
                    help="where proven receipts are kept between runs")
    ap.add_argument("--preset", default="compact", choices=[n for n, p in PRESETS.items() if not p.insecure],
                    help="FRI preset of the receipts and the verifier (onchain: fewest queries, ~2x the prover's "
                         "memory; see prover/security.py)")
    args = ap.parse_args()
    with chain.anvil() as url:
        w3 = chain.connect(url)
        v = OV.deploy(w3, args.preset)
        cache = Path(args.receipts)
        cases = [verify_case(v, int(k), cache) for k in args.cycles.split(",")]
        first, _ = proven(b"4\n", cache, args.preset)
        OV.verify_receipt(v, first)
        market = market_paths(w3, v, first)
    one_segment = [c for c in cases if c["segments"] == 1]
    out = {
        "chain": "anvil 1.7.1 (npm @foundry-rs/anvil), block gas limit 30,000,000",
        "preset": args.preset, "machine": platform.machine(), "python": platform.python_version(),
        "verify": cases,
        "market": market,
        "bars": {
            "every_tx_under_30M": all(c["max_tx_gas"] < BAR_TX for c in cases),
            "one_segment_total_under_30M": bool(one_segment) and all(c["total_gas"] < BAR_ONE_SEGMENT
                                                                     for c in one_segment),
            "optimistic_unchallenged_under_200k": market["optimistic_unchallenged"] < BAR_OPTIMISTIC,
        },
    }
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("bars", "market")}, indent=1))
    for c in cases:
        print(f"{c['cycles']} cycles, {c['segments']} segments: {c['transactions']} txs, total {c['total_gas']:,} gas, "
              f"max {c['max_tx_gas']:,}")


if __name__ == "__main__":
    main()
