"""The EVM receipt verifier (settlement/contracts/verifier/, docs/onchain-verifier.md) against
the Python verifier: real receipts are accepted, and every changed receipt that the Python
verifier rejects is rejected on-chain too (a differential test over a few hundred mutations
of claims, proof headers, opened values, Merkle paths and FRI layers).

Runs on anvil (fast); one full verification also runs on the embedded chain (slow: py-evm).
"""

from __future__ import annotations

import copy
import dataclasses
import os
import random
import re

import numpy as np
import pytest

from prover import fri
from prover import proof as stark_bytes
from prover import stark
from prover.errors import VerificationError
from prover.field import P
from prover.keccak import keccak256
from prover.security import COMPACT
from prover.zkmips import segment_receipt as SR
from prover.zkmips import segments as SG
from settlement import chain, evm_stark
from settlement import onchain_verifier as OV
from settlement.claim_digest import claim_digest
from tests.conftest import chain_receipt
from tests.marketplace.conftest import HELLO_INPUT

INPUTS = (HELLO_INPUT, b"another input\n")
MUTATIONS = int(os.environ.get("ZKMIPS_ONCHAIN_MUTATIONS", "240"))


def test_the_verifiers_bounds_hold_the_circuits_it_registers(receipts):
    """proofdata.vy's bounds are sized for the zkMIPS circuits (every static buffer is EVM
    memory, charged quadratically in every transaction): a real receipt's proofs fit them, so
    a circuit that outgrows one fails here, by name, not as a bare revert on chain."""
    src = (chain.CONTRACTS_DIR / "verifier" / "proofdata.vy").read_text()

    def bound(name: str) -> int:
        return int(re.search(rf"^{name}: constant\(uint256\) = (\d+)", src, re.M).group(1))

    for i, (proof, vk) in enumerate((p, parts.vk(i)) for parts in (Parts.of(receipts[0]), Parts.of(receipts[2]))
                                    for i, p in enumerate(parts.proofs)):
        a = evm_stark.begin_args(vk, proof, bytes(32))
        for arg, name in (("opened", "MAX_OPENED"), ("head", "MAX_HEAD"), ("fri_head", "MAX_FRI_HEAD"),
                          ("circuit", "MAX_CIRCUIT")):
            assert len(a[arg]) <= bound(name), f"{arg}: {len(a[arg])} bytes > {name}"
        rounds = evm_stark._round_heights(vk, proof)
        assert sum(len(r) for r in rounds) <= bound("MAX_MATS")
        assert len(vk.system.tables) <= bound("MAX_TABLES")
        assert COMPACT.num_queries <= bound("MAX_QUERIES")
        arities, _ = fri.fold_schedule([h for r in rounds for h in r], COMPACT)
        assert len(arities) <= bound("MAX_LAYERS")
        assert 1 << COMPACT.log_final_poly_len <= bound("MAX_FINAL")


@pytest.fixture(scope="session")
def receipts(tmp_path_factory) -> list[bytes]:
    """Two joined receipts of one-segment runs and a split one of the first run (a memory
    proof and a segment proof: the layout of longer runs). The cache is the one the
    chain-settlement tests share: the first receipt is theirs too."""
    cache = tmp_path_factory.getbasetemp().parent / "chain-receipts"
    return [chain_receipt(cache, "hello", i) for i in INPUTS] + [chain_receipt(cache, "hello", INPUTS[0], split=True)]


LAYOUTS = {"joined": 0, "split": 2}        # the receipts of each layout


@pytest.fixture(scope="module")
def verifier(anvil_url, _module_vyper_cache) -> OV.Verifier:
    w3 = chain.connect(anvil_url)
    return OV.deploy(w3, "compact")


@pytest.fixture(scope="module")
def _module_vyper_cache(tmp_path_factory):
    os.environ.setdefault("ZKMIPS_VYPER_CACHE", str(tmp_path_factory.getbasetemp() / "vyper-cache"))


@dataclasses.dataclass
class Parts:
    """A receipt taken apart as the driver sends it."""
    rec: SR.SegmentedReceipt
    items: list[SR.ProofItem]        # the keys and the honest proofs, in the seed's order
    proofs: list[stark.StarkProof]   # the proofs as changed (a split receipt's memory proof first)

    @classmethod
    def of(cls, data: bytes) -> "Parts":
        rec = SR.decode(data)
        items = SR.receipt_proofs(rec, SR.receipt_keys(rec, COMPACT))
        return cls(rec, items, [it.proof for it in items])

    def clone(self) -> "Parts":
        """A copy whose proofs can be changed (the keys are shared: they are never changed)."""
        return Parts(self.rec, self.items, copy.deepcopy(self.proofs))

    def vk(self, i: int) -> stark.VerifyingKey:
        return self.items[i].vk

    @property
    def current(self) -> list[SR.ProofItem]:
        return [dataclasses.replace(it, proof=p) for it, p in zip(self.items, self.proofs)]

    def encode(self) -> bytes:
        blobs = [stark_bytes.encode(p, self.vk(i).digest, True) for i, p in enumerate(self.proofs)]
        if self.rec.joined:
            return dataclasses.replace(self.rec, segment_proofs=tuple(blobs)).encode()
        return dataclasses.replace(self.rec, memory_proof=blobs[0], segment_proofs=tuple(blobs[1:])).encode()


# ----------------------------------------------------------------------------- driving the steps
def _begin(v: OV.Verifier, parts: Parts, i: int, seed: bytes):
    a = evm_stark.begin_args(parts.vk(i), parts.proofs[i], seed)
    return v.stark.functions.begin(a["circuit"], a["pre_root"], a["pre_heights"], a["seed"], a["head"],
                                   a["opened"], a["fri_head"])


def _seed(parts: Parts) -> bytes:
    return SG.shared_seed(parts.rec.claim, [it.binding for it in parts.current])


def _receipt_call(v: OV.Verifier, parts: Parts):
    return v.receipt.functions.verify_receipt(*OV.receipt_arguments(parts.rec, parts.current))


class Replay:
    """The honest receipt verified once step by step, with a snapshot before every step, so
    that a mutation re-runs only the steps it can affect. A JSON-RPC node drops the snapshots
    taken after the one it reverts to, so callers go from later positions to earlier ones;
    the snapshot reverted to is taken again at once."""

    def __init__(self, v: OV.Verifier, parts: Parts):
        self.v, self.w3, self.parts = v, v.w3, parts
        self.sender = self.w3.eth.accounts[0]
        self.seed = _seed(parts)
        self.snaps: dict[tuple, int] = {}
        self.sessions: list[bytes] = []
        for i, proof in enumerate(parts.proofs):
            self.snaps[("proof", i)] = chain.snapshot(self.w3)
            r = OV.send_step(self.w3, _begin(v, parts, i, self.seed), self.sender, "begin", [])
            (ev,) = v.stark.events.SessionOpened().process_receipt(r)
            self.sessions.append(ev["args"]["data"])
            for q in range(COMPACT.num_queries):
                self.snaps[("query", i, q)] = chain.snapshot(self.w3)
                blob = evm_stark.query_blob(parts.vk(i), proof, q, 1)
                OV.send_step(self.w3, OV.queries_call(v, self.sessions[i], 1, blob), self.sender,
                             "query", [])
        self.snaps[("claim",)] = chain.snapshot(self.w3)
        r = OV.send_step(self.w3, _receipt_call(v, parts), self.sender, "receipt", [])
        (ev,) = v.receipt.events.ReceiptVerified().process_receipt(r)
        self.claim_digest = bytes(ev["args"]["claim_digest"])

    def order(self, where: tuple) -> tuple:
        """Sort key: the step's position in the run, latest first."""
        if where[0] == "claim":
            return (-len(self.parts.proofs), 0, 0)
        if where[0] == "query":
            return (-where[1], -1, -where[2])
        return (-where[1], 0, 0)

    def at(self, where: tuple) -> None:
        """The chain as it was just before the step at ``where``."""
        chain.revert(self.w3, self.snaps[where])
        self.snaps[where] = chain.snapshot(self.w3)

    def ok(self, fn) -> bool:
        try:
            OV.send_step(self.w3, fn, self.sender, "step", [])
            return True
        except chain.Reverted:
            return False

    def accepts(self, parts: Parts, where: tuple) -> bool:
        """Whether the chain accepts ``parts`` changed at ``where``: the steps from there on."""
        self.at(where)
        if where[0] == "claim":
            return self.ok(_receipt_call(self.v, parts))
        if where[0] == "query":
            i, q = where[1], where[2]
            blob = evm_stark.query_blob(parts.vk(i), parts.proofs[i], q, 1)
            if not self.ok(OV.queries_call(self.v, self.sessions[i], 1, blob)):
                return False
            first = q + 1
            session = self.sessions[i]
        else:
            i = where[1]
            try:
                r = OV.send_step(self.w3, _begin(self.v, parts, i, _seed(parts)), self.sender, "begin", [])
            except chain.Reverted:
                return False
            (ev,) = self.v.stark.events.SessionOpened().process_receipt(r)
            session, first = ev["args"]["data"], 0
        # the rest of this proof, the later proofs (under the seed of the changed receipt), the receipt
        seed = _seed(parts)
        for j in range(i, len(parts.proofs)):
            if j > i:
                try:
                    r = OV.send_step(self.w3, _begin(self.v, parts, j, seed), self.sender, "begin", [])
                except chain.Reverted:
                    return False
                (ev,) = self.v.stark.events.SessionOpened().process_receipt(r)
                session, first = ev["args"]["data"], 0
            nq = COMPACT.num_queries
            if first < nq:
                blob = evm_stark.query_blob(parts.vk(j), parts.proofs[j], first, nq - first)
                if not self.ok(OV.queries_call(self.v, session, nq - first, blob)):
                    return False
        return self.ok(_receipt_call(self.v, parts))


@pytest.fixture(params=sorted(LAYOUTS))
def replay(request, verifier, receipts):
    """The honest run of a receipt of each layout, on a chain rolled back afterwards
    (sessions open once)."""
    snap = chain.snapshot(verifier.w3)
    yield Replay(verifier, Parts.of(receipts[LAYOUTS[request.param]]))
    chain.revert(verifier.w3, snap)


# ----------------------------------------------------------------------------- tests
def test_registered_circuits_are_generated_from_the_python_systems(verifier):
    for system in (SR.segment_verifier_system(), SR.memory_verifier_system(), SR.joined_verifier_system()):
        circ = evm_stark.circuit(system, COMPACT, True)
        assert verifier.stark.functions.circuit_digest(keccak256(circ.blob)).call() == \
            stark.circuit_digest(system, COMPACT, True)
        for t, program in enumerate(circ.programs):
            code = verifier.w3.eth.get_code(verifier.stark.functions.programs(keccak256(circ.blob), t).call())
            assert code[0] == 0 and code[1:1 + len(program)] == program, "a table's program as generated"


def test_a_real_receipt_is_verified_on_chain_and_pays_through_the_market(verifier, receipts):
    result = OV.verify_receipt(verifier, receipts[1])
    claim = SR.decode(receipts[1]).claim
    want = claim_digest(claim.image_id, claim.input_digest, keccak256(claim.journal), claim.exit_code, claim.cycles)
    assert result.claim_digest == want
    assert verifier.receipt.functions.verified(want).call()
    assert result.max_gas < chain.BLOCK_GAS_LIMIT, "every step fits a block"
    assert result.max_gas < 1 << 24, "every step fits EIP-7825's cap on one transaction"
    # the market pays for exactly this claim
    w3 = verifier.w3
    client, prover = w3.eth.accounts[1], w3.eth.accounts[2]
    market = chain.MarketClient.deploy(w3, verifier.address)
    market.deposit(10**18, sender=client)
    market.deposit(10**18, sender=prover)
    rid = os.urandom(32)
    now = w3.eth.get_block("latest")["timestamp"]
    market.post_request(rid, image_id=claim.image_id, input_digest=claim.input_digest, max_cycles=claim.cycles,
                        price_min=10**15, price_max=10**15, ramp_seconds=10, lock_timeout=3600,
                        deadline=now + 7200, stake=10**15, sender=client)
    market.lock(rid, sender=prover)
    market.fulfill(rid, journal_digest=keccak256(claim.journal), exit_code=claim.exit_code, cycles=claim.cycles,
                   sender=prover)
    assert market.request(rid).state == "fulfilled"


@pytest.mark.parametrize("num_queries, bytes_per_query", [(25, 21_000), (25, 9_000), (18, 22_000), (100, 30_000),
                                                         (1, 10**7), (4, 100)])
def test_query_batches_cover_the_queries_in_equal_batches_under_the_planned_gas(num_queries, bytes_per_query):
    batches = OV.query_batches(num_queries, bytes_per_query)
    assert [f for f, _ in batches] == [sum(c for _, c in batches[:i]) for i in range(len(batches))]
    assert sum(c for _, c in batches) == num_queries
    assert max(c for _, c in batches) - min(c for _, c in batches) <= 1
    most = max(c for _, c in batches)
    assert most == 1 or OV.BATCH_FIXED_GAS + most * OV.GAS_PER_QUERY_BYTE * bytes_per_query <= OV.BATCH_GAS
    assert len(OV.query_batches(num_queries, bytes_per_query // 2 or 1)) <= len(batches)


def test_steps_cannot_be_replayed_or_reordered(replay):
    v, parts = replay.v, replay.parts
    last = len(parts.proofs) - 1
    assert not replay.ok(_begin(v, parts, last, replay.seed)), "a session opens once"
    blob = evm_stark.query_blob(parts.vk(last), parts.proofs[last], 0, 1)
    assert not replay.ok(OV.queries_call(v, replay.sessions[last], 1, blob)), "no queries after the last"
    replay.at(("claim",))
    short = copy.copy(parts)
    short.items, short.proofs = parts.items[:-1], parts.proofs[:-1]
    if short.proofs:
        assert not replay.ok(_receipt_call(v, short)), "a receipt has its segments"
    flipped = copy.copy(parts)                 # the other layout's reading of the same proofs
    flipped.rec = dataclasses.replace(parts.rec, joined=not parts.rec.joined)
    assert not replay.ok(_receipt_call(v, flipped)), "a proof counts under its own layout only"
    replay.at(("query", last, 3))
    blob = evm_stark.query_blob(parts.vk(last), parts.proofs[last], 4, 1)
    assert not replay.ok(OV.queries_call(v, replay.sessions[last], 1, blob)), "queries come in order"


def test_facts_of_another_receipt_do_not_verify_this_claim(replay, receipts):
    other = Parts.of(receipts[1])             # joined: its one proof is a segment's under another key
    spliced = copy.copy(replay.parts)
    spliced.proofs = replay.parts.proofs[:-1] + [other.proofs[-1]]
    with pytest.raises(VerificationError):
        SR.verify_segmented(spliced.encode())
    assert not replay.accepts(spliced, ("proof", len(spliced.proofs) - 1))


def test_non_canonical_field_elements_are_refused(replay):
    """A value v + p (the same residue, another encoding): the Python verifier refuses it
    and so does the chain, before it hashes anything."""
    v, parts = replay.v, replay.parts
    blob = evm_stark.query_blob(parts.vk(0), parts.proofs[0], 0, 1)
    word = int.from_bytes(blob[:4], "little") + P  # the first row value of the first round
    replay.at(("query", 0, 0))                     # the later step first: Replay goes backwards
    with pytest.raises(chain.Reverted, match="non-canonical"):
        OV.send_step(replay.w3, OV.queries_call(v, replay.sessions[0], 1, word.to_bytes(4, "little") + blob[4:]),
                     replay.sender, "query", [])
    a = evm_stark.begin_args(parts.vk(0), parts.proofs[0], replay.seed)
    at = len(a["opened"]) - 32 - 16            # the last opened quotient value, before the mask root
    word = int.from_bytes(a["opened"][at:at + 4], "little") + P
    opened = a["opened"][:at] + word.to_bytes(4, "little") + a["opened"][at + 4:]
    replay.at(("proof", 0))
    with pytest.raises(chain.Reverted, match="non-canonical"):
        OV.send_step(replay.w3, v.stark.functions.begin(a["circuit"], a["pre_root"], a["pre_heights"], a["seed"],
                                                       a["head"], opened, a["fri_head"]), replay.sender, "begin", [])


# ----------------------------------------------------------------------------- mutations
def _bump(arr: np.ndarray, rng: random.Random) -> np.ndarray:
    out = np.array(arr, dtype=np.uint32, copy=True)
    flat = out.reshape(-1)
    k = rng.randrange(flat.size)
    flat[k] = (int(flat[k]) + rng.randrange(1, P)) % P
    return out


def _flip(b: bytes, rng: random.Random) -> bytes:
    k = rng.randrange(len(b))
    return b[:k] + bytes([b[k] ^ (1 << rng.randrange(8))]) + b[k + 1:]


def _flip_path(path, field: str, rng: random.Random):
    """A Merkle path with one bit of one sibling (or salt) flipped."""
    items = list(getattr(path, field))
    k = rng.randrange(len(items))
    items[k] = _flip(items[k], rng)
    return dataclasses.replace(path, **{field: items})


def _mutate(parts: Parts, rng: random.Random) -> tuple[str, Parts, tuple]:
    """One random change; returns (what, mutated parts, where: ("claim",) | ("proof", i) |
    ("query", i, q))."""
    m = parts.clone()
    i = rng.randrange(len(m.proofs))
    p = m.proofs[i]
    op = p.opening_proof
    kind = rng.choice(["claim", "publics", "sums", "root", "opened", "fri_head", "row", "sibling", "salt",
                       "mask", "fri_row", "fri_sibling"])
    if kind == "claim":
        c = m.rec.claim
        field = rng.choice(["journal", "exit_code", "cycles", "input", "image_id"])
        if field == "journal":
            c = dataclasses.replace(c, journal=_flip(c.journal, rng))
        elif field == "input":
            c = dataclasses.replace(c, input=_flip(c.input, rng))
        elif field == "exit_code":
            c = dataclasses.replace(c, exit_code=(c.exit_code + 1) % 256)
        elif field == "cycles":
            c = dataclasses.replace(c, cycles=c.cycles + rng.choice([-1, 1]))
        else:
            c = dataclasses.replace(c, image_id=_flip(c.image_id, rng))
        m.rec = dataclasses.replace(m.rec, claim=c)
        return f"claim {field}", m, ("claim",)
    if kind == "publics" and any(len(pv) for pv in p.publics):
        t = rng.choice([k for k, pv in enumerate(p.publics) if len(pv)])
        p.publics[t] = list(_bump(np.array(p.publics[t]), rng).tolist())
        return f"proof {i} publics", m, ("proof", i)
    if kind in ("sums", "publics"):
        t = rng.choice([k for k, s in enumerate(p.bus_sums) if len(s)])
        p.bus_sums[t] = _bump(p.bus_sums[t], rng)
        return f"proof {i} bus sums", m, ("proof", i)
    if kind == "root":
        name = rng.choice(["main_root", "perm_root", "quotient_root"])
        setattr(p, name, _flip(getattr(p, name), rng))
        return f"proof {i} {name}", m, ("proof", i)
    if kind == "opened":
        r = rng.randrange(len(p.opened))
        mat = rng.randrange(len(p.opened[r]))
        pt = rng.randrange(len(p.opened[r][mat]))
        p.opened[r][mat][pt] = _bump(p.opened[r][mat][pt], rng)
        return f"proof {i} opened value", m, ("proof", i)
    if kind == "fri_head":
        fri = op.fri_proof
        what = rng.choice(["root", "final", "nonce", "batch"])
        if what == "root":
            k = rng.randrange(len(fri.commit_roots))
            fri.commit_roots[k] = _flip(fri.commit_roots[k], rng)
        elif what == "final":
            fri.final_poly = _bump(fri.final_poly, rng)
        elif what == "nonce":
            fri.query_pow_nonce += 1
        else:
            op.batch_pow_nonce += 1
        return f"proof {i} FRI {what}", m, ("proof", i)
    q = rng.randrange(len(op.query_openings))
    qo = op.query_openings[q]
    if kind == "row":
        b = rng.choice(qo.rounds)
        k = rng.randrange(len(b.rows))
        b.rows[k] = _bump(b.rows[k], rng)
    elif kind in ("sibling", "salt"):
        b = rng.choice(qo.rounds)
        b.proof = _flip_path(b.proof, "siblings" if kind == "sibling" else "salts", rng)
    elif kind == "mask":
        qo.mask.rows[0] = _bump(qo.mask.rows[0], rng)
    else:
        layer = rng.choice(op.fri_proof.query_proofs[q].layers)
        if kind == "fri_row":
            layer.values = _bump(layer.values, rng)
        else:
            layer.proof = _flip_path(layer.proof, "siblings", rng)
    return f"proof {i} query {q} {kind}", m, ("query", i, q)


def test_chain_and_python_agree_on_every_mutation(replay):
    """Hundreds of random changes: the Python verifier and the chain must agree on each."""
    rng = random.Random(20261127)
    cases = [_mutate(replay.parts, rng) for _ in range(MUTATIONS // len(LAYOUTS))]
    seen: dict[str, int] = {}
    for what, mutated, where in sorted(cases, key=lambda c: replay.order(c[2])):
        try:
            SR.verify_segmented(mutated.encode())
            python_ok = True
        except VerificationError:
            python_ok = False
        chain_ok = replay.accepts(mutated, where)
        assert chain_ok == python_ok, f"{what}: python {'accepts' if python_ok else 'rejects'}, " \
                                      f"chain {'accepts' if chain_ok else 'rejects'}"
        key = what.split()[-1] if " query " in what else what.split(" ", 2)[-1]
        seen[key] = seen.get(key, 0) + 1
    assert len(seen) >= 15, f"the mutations should reach every part of a receipt, saw {sorted(seen)}"


@pytest.mark.slow
def test_a_real_receipt_is_verified_on_the_embedded_chain(receipts, embedded_chain):
    """The same verification on py-evm (minutes: a pure-Python EVM)."""
    v = OV.deploy(embedded_chain, "compact")
    result = OV.verify_receipt(v, receipts[0])
    assert v.receipt.functions.verified(result.claim_digest).call()
    assert result.max_gas < chain.BLOCK_GAS_LIMIT
