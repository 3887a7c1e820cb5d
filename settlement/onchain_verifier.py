"""Deploy the EVM receipt verifier and verify segmented receipts with it, step by step.

Why this module exists: a segmented receipt is checked on-chain in many transactions (per
STARK proof: ``begin``, then batches of FRI queries; then the receipt's cross-proof checks),
each under the block gas limit. This module deploys the contracts for one FRI preset
(the STARK verifier, one code-only contract per table program, the receipt verifier with
its layout) and drives those transactions; it reports every transaction's gas. Nothing it
sends is trusted: the contracts recompute everything (docs/onchain-verifier.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from web3 import Web3

from prover import stark
from prover.errors import VerificationError
from prover.security import FriParams
from prover.zkmips import cpu as C
from prover.zkmips import memory as M
from prover.zkmips import segment_receipt as SR
from prover.zkmips import segments as SG
from prover.zkmips import syscall as S
from prover.zkmips.spec import BUS_INPUT, BUS_JOURNAL
from prover.zkmips.receipt import params_of
from settlement import chain
from settlement import evm_constraint_kernel, evm_row_kernel, evm_stark

#: The gas a ``verify_queries`` transaction is planned to stay under: 2^24 (16.8 M) is the most
#: one transaction may use on Ethereum since Fusaka (EIP-7825), less room for the plan's error.
BATCH_GAS = 14_000_000
#: The plan (measured with bench/gas.py on anvil, rounded up): a batch costs about
#: BATCH_FIXED_GAS (the session re-sent and decoded, the kernel's per-proof input built) plus
#: GAS_PER_QUERY_BYTE for each byte of its queries' data (calldata is 16 of them; the row
#: kernel's work grows with the same opened columns and Merkle paths).
BATCH_FIXED_GAS = 1_600_000
GAS_PER_QUERY_BYTE = 42


def query_batches(num_queries: int, bytes_per_query: int) -> list[tuple[int, int]]:
    """(first, count) of every ``verify_queries`` transaction of a proof: as few batches as
    keep each under BATCH_GAS by the plan, of equal size (every batch re-sends the session):
    a zkMIPS segment proof's 25 queries at `compact` (~21 KB each) go in 13 + 12, its memory
    proof's (~9 KB each) in one."""
    most = max(1, (BATCH_GAS - BATCH_FIXED_GAS) // (GAS_PER_QUERY_BYTE * max(bytes_per_query, 1)))
    n = -(-num_queries // most)
    out, first = [], 0
    for i in range(n):
        count = num_queries // n + (1 if i < num_queries % n else 0)
        out.append((first, count))
        first += count
    return out


#: The on-chain verifier's input and journal limits (``receipt.vy`` MAX_IO).
MAX_IO_BYTES = 8192


#: Length of a stored table program (``stark.vy`` MAX_PROGRAM).
PROGRAM_BYTES = 20480


def _code_contract(w3: Web3, code: bytes, sender: str) -> str:
    """Deploy ``0x00 || code`` zero-padded to PROGRAM_BYTES as a contract's code (never
    executable: it starts with STOP), read with EXTCODECOPY: cheaper per use than calldata."""
    if len(code) > PROGRAM_BYTES:
        raise ValueError(f"a table program of {len(code)} bytes exceeds the verifier's {PROGRAM_BYTES}")
    return chain.deploy_code(w3, b"\x00" + code.ljust(PROGRAM_BYTES, b"\0"), sender)


def _publics_offset(system, table: str) -> int:
    """Byte offset of a table's first public value in a proof's heights || publics stream."""
    at = 4 * len(system.tables)
    for t in system.tables:
        if t.name == table:
            return at
        at += 4 * len(t.public_names)
    raise KeyError(table)


#: ``receipt.vy``'s position of an open bus that a circuit closes inside its proofs.
CLOSED = (1 << 256) - 1


def proof_layout(system, params: FriParams) -> tuple:
    """``receipt.vy``'s ProofLayout of one circuit: its digest, where its public values sit
    (those of a table it lacks: 0) and where each open bus sits in its totals."""
    names = {t.name for t in system.tables}
    opened = evm_stark.open_bus_names(system)

    def offset(table: str) -> int:
        return _publics_offset(system, table) if table in names else 0

    def bus(name: str) -> int:
        return opened.index(name) if name in opened else CLOSED
    return (stark.circuit_digest(system, params, True), len(system.tables), offset(C.TABLE_NAME),
            offset(M.MEMORY_TABLE), offset(S.SYSCALL_TABLE),
            4 * len(system.tables) + 4 * sum(len(t.public_names) for t in system.tables),
            bus(M.BUS_GMEM), bus(S.BUS_PRIVATE), bus(BUS_INPUT), bus(BUS_JOURNAL), len(opened))


def receipt_layout(params: FriParams) -> dict:
    """The constructor layout of ``receipt.vy`` for one preset (generated from the systems)."""
    systems = {"segment": SR.segment_verifier_system(), "memory": SR.memory_verifier_system(),
               "joined": SR.joined_verifier_system()}
    ids = {(s.bus_id(BUS_INPUT), s.bus_id(BUS_JOURNAL)) for s in systems.values()}
    if len(ids) != 1:
        raise ValueError("the circuits tag the input and journal buses differently")
    ((input_id, journal_id),) = ids
    return {**{name: proof_layout(s, params) for name, s in systems.items()},
            "input_bus_id": input_id, "journal_bus_id": journal_id}


@dataclass
class Verifier:
    """The deployed contracts of one preset."""

    w3: Web3
    params: FriParams
    stark: object
    queries: object
    receipt: object

    @property
    def address(self) -> str:
        """What the market contract is deployed with: the receipt verifier's address."""
        return self.receipt.address


def deploy(w3: Web3, preset: str = "compact", *, sender: str | None = None,
           allow_insecure: bool = False) -> Verifier:
    """Deploy and register everything to verify receipts made with ``preset`` (the insecure
    test preset only when asked for by name)."""
    sender = sender or w3.eth.default_account
    params = params_of(preset, allow_insecure=allow_insecure)
    constraint_kernel = chain.deploy_code(w3, evm_constraint_kernel.runtime_code(), sender)
    row_kernel = chain.deploy_code(w3, evm_row_kernel.runtime_code(), sender)
    ood = chain.deploy(w3, "verifier/ood", constraint_kernel, row_kernel, sender=sender)
    queries = chain.deploy(w3, "verifier/queries", row_kernel, sender=sender)
    stark_c = chain.deploy(w3, "verifier/stark", ood.address, queries.address, sender=sender)
    chain.send(w3, queries.functions.set_opener(stark_c.address), sender)
    for system in (SR.segment_verifier_system(), SR.memory_verifier_system(), SR.joined_verifier_system()):
        circ = evm_stark.circuit(system, params, True)
        programs = [_code_contract(w3, p, sender) for p in circ.programs]
        chain.send(w3, stark_c.functions.register_circuit(circ.blob, circ.digest, programs), sender)
    layout = receipt_layout(params)
    receipt_c = chain.deploy(w3, "verifier/receipt", queries.address, tuple(layout.values()), sender=sender)
    return Verifier(w3, params, stark_c, queries, receipt_c)


@dataclass
class Step:
    """One transaction of an on-chain verification."""

    what: str
    gas: int
    tx: str
    calldata: int = 0


@dataclass
class OnchainResult:
    claim_digest: bytes
    steps: list[Step] = field(default_factory=list)

    @property
    def total_gas(self) -> int:
        return sum(s.gas for s in self.steps)

    @property
    def calldata_bytes(self) -> int:
        return sum(s.calldata for s in self.steps)

    @property
    def max_gas(self) -> int:
        return max(s.gas for s in self.steps)


#: Gas given to every step: the block gas limit (no estimation round-trip; a step that needs
#: more fails, which is what the limit means).
STEP_GAS = 30_000_000


def send_step(w3: Web3, call, sender: str, what: str, steps: list[Step]):
    """Send one step, appending its gas to ``steps``; a refused step raises chain.Reverted
    with the contract's reason."""
    try:
        tx = call.transact({"from": sender, "gas": STEP_GAS})
        r = w3.eth.wait_for_transaction_receipt(tx)
    except chain._revert_errors() as e:
        raise chain.Reverted(f"{what}: {e}") from e
    if r["status"] != 1:
        try:  # replay as a call to learn the reason
            call.call({"from": sender, "gas": STEP_GAS}, block_identifier=r["blockNumber"] - 1)
        except chain._revert_errors() as e:
            raise chain.Reverted(f"{what}: {e}") from e
        raise chain.Reverted(f"{what}: reverted")
    steps.append(Step(what, int(r["gasUsed"]), r["transactionHash"].hex(), len(w3.eth.get_transaction(tx)["input"])))
    return r


@dataclass
class RawCall:
    """A transaction to ``to`` with calldata ``data`` that web3's contract functions cannot
    build (``queries_call``), with the two methods ``send_step`` uses of them."""

    w3: Web3
    to: str
    data: bytes

    def transact(self, tx: dict):
        return self.w3.eth.send_transaction({**tx, "to": self.to, "data": self.data})

    def call(self, tx: dict, block_identifier="latest"):
        return self.w3.eth.call({**tx, "to": self.to, "data": self.data}, block_identifier)


def queries_call(v: Verifier, session: bytes, count: int, blob: bytes) -> RawCall:
    """``verify_queries(session, count)`` with the query blob appended to the calldata,
    unencoded (queries.vy reads it in place)."""
    head = v.queries.functions.verify_queries(session, count)._encode_transaction_data()
    return RawCall(v.w3, v.queries.address, bytes.fromhex(head[2:]) + blob)


def verify_proof(v: Verifier, vk: stark.VerifyingKey, proof: stark.StarkProof, seed: bytes, what: str,
                 sender: str, steps: list[Step], progress: Callable[[str], None] | None = None) -> None:
    """``begin`` and every query batch of one STARK proof."""
    args = evm_stark.begin_args(vk, proof, seed)
    r = send_step(v.w3, v.stark.functions.begin(args["circuit"], args["pre_root"], args["pre_heights"], args["seed"],
                                         args["head"], args["opened"], args["fri_head"]), sender, f"{what}: begin", steps)
    (event,) = v.stark.events.SessionOpened().process_receipt(r)
    session = event["args"]["data"]
    nq = vk.params.num_queries
    for first, count in query_batches(nq, len(evm_stark.query_bytes(vk, proof, 0))):
        blob = evm_stark.query_blob(vk, proof, first, count)
        send_step(v.w3, queries_call(v, session, count, blob), sender,
              f"{what}: queries {first + 1}-{first + count}", steps)
        if progress:
            progress(f"{what}: {first + count}/{nq} queries")


def receipt_arguments(rec: SR.SegmentedReceipt, items: list[SR.ProofItem]) -> tuple:
    """The arguments of ``receipt.vy`` ``verify_receipt``: the claim, the keys, the layout,
    every proof's binding (in the seed's order) and its publics stream and open-bus
    totals (a joined receipt passes an empty memory proof)."""
    claim = rec.claim

    def key(ref: SR.KeyRef) -> tuple[bytes, bytes]:
        return ref.pre_root, bytes(h or 0 for h in ref.pre_log_heights)

    def ref(it: SR.ProofItem) -> tuple[bytes, list[int]]:
        return evm_stark.publics_stream(it.proof), evm_stark.open_totals(it.vk, it.proof)

    memory = [ref(it) for it in items if not it.segment] or [(b"", [])]
    segments = [ref(it) for it in items if it.segment]
    return (claim.image_id, claim.input, claim.journal, claim.exit_code, claim.cycles, rec.input_read,
            key(rec.memory_key), key(rec.segment_key), key(rec.joined_key), rec.joined,
            b"".join(it.binding for it in items), memory[0], segments)


def verify_receipt(v: Verifier, data: bytes, *, sender: str | None = None,
                   progress: Callable[[str], None] | None = None) -> OnchainResult:
    """Verify a segmented receipt on-chain; the result lists every transaction's gas.
    Raises chain.Reverted when the chain refuses it (VerificationError when it cannot even
    be parsed into transactions)."""
    sender = sender or v.w3.eth.default_account
    rec = SR.decode(data)
    claim = rec.claim
    if len(claim.input) > MAX_IO_BYTES or len(claim.journal) > MAX_IO_BYTES:
        raise VerificationError(f"the on-chain verifier takes inputs and journals up to {MAX_IO_BYTES} bytes")
    params = params_of(rec.preset, allow_insecure=True)
    if params != v.params:
        raise VerificationError(f"this verifier checks {v.params.name} receipts, not {rec.preset}")
    items = SR.receipt_proofs(rec, SR.receipt_keys(rec, params))
    seed = SG.shared_seed(claim, [it.binding for it in items])
    steps: list[Step] = []
    for it in items:
        verify_proof(v, it.vk, it.proof, seed, it.what, sender, steps, progress)
    r = send_step(v.w3, v.receipt.functions.verify_receipt(*receipt_arguments(rec, items)), sender, "receipt", steps)
    (event,) = v.receipt.events.ReceiptVerified().process_receipt(r)
    return OnchainResult(bytes(event["args"]["claim_digest"]), steps)
