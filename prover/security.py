"""FRI parameters and the soundness they buy, computed rather than asserted.

Every preset's security level comes out of the formulas below, so changing a
parameter changes the number that ``zkmips params --json`` prints. The formulas
and the reasons for choosing them are in ``docs/security.md``; in short:

* **Conjectured bits** use the *random-words* bound (Diamond-Gruen, ePrint
  2025/2010 section 1.5), which Plonky3's ``p3-security`` adopted after the 2025
  results refuted the older "correlated agreement up to capacity" conjecture
  behind the ethSTARK formula ``num_queries * log_blowup + pow_bits``. Each query
  is worth ``-log2(rho + eta)`` bits with ``eta = (log2(e) + log_blowup) * rho /
  log2|F|``, a little less than ethSTARK's ``log_blowup``.
* **Proven bits** use the unique-decoding regime (no conjecture): each query is
  worth ``-log2((1 + rho_plus) / 2)`` bits.
* Both are capped by the field-size terms that no number of queries fixes: the
  batching challenge, each folding challenge and the out-of-domain (DEEP) point
  each fail with probability about ``(size of the bad set) / |F|``, where
  ``F`` is BabyBear^4 (about 2^123.6). Grinding before a challenge adds its bits
  to that challenge's term.

The result depends on the instance (trace length, number of batched columns,
constraint degree), so the functions take an :class:`InstanceShape`; the default
shape is the largest table we promise to prove at the advertised level.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

#: BabyBear prime (duplicated from ``prover.field`` on purpose: this module must
#: import nothing heavy, so the CLI can print parameters instantly).
FIELD_PRIME = (1 << 31) - (1 << 27) + 1
FIELD_NAME = "BabyBear"
EXTENSION_DEGREE = 4
#: log2 of the challenge field's size, |BabyBear^4| = p^4 (about 123.63 bits).
EXT_FIELD_BITS = EXTENSION_DEGREE * math.log2(FIELD_PRIME)
#: keccak-256 Merkle trees: collision resistance caps everything at 128 bits.
HASH_COLLISION_BITS = 128
#: The level the default preset must reach under the conjectured bound.
TARGET_CONJECTURED_BITS = 100


class InsecureParametersError(ValueError):
    """Raised when parameters below the required security level are used where
    the caller demanded secure ones (never silently downgrade a proof)."""


@dataclass(frozen=True)
class FriParams:
    """What the prover and verifier agree on for FRI (both sides must use equal
    values; the PCS binds them into the transcript).

    ``pow_bits`` is the grinding before query sampling; ``batch_pow_bits`` the
    grinding before the challenge that batches all opened columns into one
    DEEP quotient; ``commit_pow_bits`` the grinding before each folding
    challenge. ``max_log_arity`` is log2 of the largest folding arity (1 folds
    by 2); ``log_final_poly_len`` is log2 of the number of coefficients of the
    final polynomial sent in the clear.
    """

    name: str
    log_blowup: int
    num_queries: int
    pow_bits: int
    log_final_poly_len: int = 0
    max_log_arity: int = 1
    batch_pow_bits: int = 0
    commit_pow_bits: int = 0
    insecure: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.log_blowup <= 8:
            raise ValueError(f"log_blowup must be in 1..8, got {self.log_blowup}")
        if not 1 <= self.num_queries <= 1000:
            raise ValueError(f"num_queries must be in 1..1000, got {self.num_queries}")
        for name in ("pow_bits", "batch_pow_bits", "commit_pow_bits"):
            value = getattr(self, name)
            if not 0 <= value <= 32:
                raise ValueError(f"{name} must be in 0..32, got {value}")
        if not 0 <= self.log_final_poly_len <= 16:
            raise ValueError(f"log_final_poly_len must be in 0..16, got {self.log_final_poly_len}")
        if not 1 <= self.max_log_arity <= 4:
            raise ValueError(f"max_log_arity must be in 1..4, got {self.max_log_arity}")

    @property
    def blowup(self) -> int:
        return 1 << self.log_blowup

    @property
    def max_arity(self) -> int:
        return 1 << self.max_log_arity


@dataclass(frozen=True)
class InstanceShape:
    """The part of a proof's size that the field-size terms depend on.

    ``log_trace_len``: log2 of the tallest trace; ``num_batched_columns``: how
    many (column, point) openings are batched into one DEEP quotient;
    ``max_constraint_degree``: the AIR's largest constraint degree.
    """

    log_trace_len: int = 22
    num_batched_columns: int = 1 << 12
    max_constraint_degree: int = 3

    def __post_init__(self) -> None:
        if not 0 <= self.log_trace_len <= 27:
            raise ValueError(f"log_trace_len must be in 0..27, got {self.log_trace_len}")
        if self.num_batched_columns < 1:
            raise ValueError("num_batched_columns must be >= 1")
        if self.max_constraint_degree < 1:
            raise ValueError("max_constraint_degree must be >= 1")


#: The largest instance the presets are rated for: segments up to 2^22 rows,
#: up to 4096 batched (column, point) openings, constraints of degree <= 3.
DEFAULT_SHAPE = InstanceShape()


# ----------------------------------------------------------------------------
# The individual terms, in bits (higher is better).
# ----------------------------------------------------------------------------


def _log_lde_size(params: FriParams, shape: InstanceShape) -> int:
    return shape.log_trace_len + params.log_blowup


def random_words_query_bits(params: FriParams, field_bits: float = EXT_FIELD_BITS) -> float:
    """Query phase under the random-words conjecture (ePrint 2025/2010 s.1.5):
    ``num_queries * -log2(rho + eta) + pow_bits``."""
    rho = 2.0 ** -params.log_blowup
    eta = (math.log2(math.e) + params.log_blowup) * rho / field_bits
    return params.num_queries * -math.log2(rho + eta) + params.pow_bits


def ethstark_query_bits(params: FriParams) -> float:
    """The older ethSTARK toy-problem figure, ``num_queries*log_blowup + pow``;
    reported for comparison only (it overstates what the 2025 results allow)."""
    return params.num_queries * params.log_blowup + params.pow_bits


def unique_decoding_query_bits(params: FriParams, shape: InstanceShape = DEFAULT_SHAPE) -> float:
    """Proven query phase: every query rejects a word beyond the unique-decoding
    radius with probability ``1 - alpha``, ``alpha = (1 + rho_plus) / 2``, where
    ``rho_plus = (k + 2) / n`` accounts for the two out-of-domain openings."""
    k = 2.0 ** shape.log_trace_len
    n = 2.0 ** _log_lde_size(params, shape)
    alpha = (1.0 + (k + 2.0) / n) / 2.0
    return params.num_queries * -math.log2(alpha) + params.pow_bits


def commit_phase_bits(params: FriParams, shape: InstanceShape = DEFAULT_SHAPE,
                      field_bits: float = EXT_FIELD_BITS) -> float:
    """Each folding challenge is bad for at most ``(arity - 1) * (n + 1)``
    values (BCIKS20 powers bound, as Plonky3 counts it)."""
    n = 2.0 ** _log_lde_size(params, shape)
    bad = (params.max_arity - 1) * (n + 1.0)
    return field_bits - math.log2(bad) + params.commit_pow_bits


def batching_bits(params: FriParams, shape: InstanceShape = DEFAULT_SHAPE,
                  field_bits: float = EXT_FIELD_BITS) -> float:
    """Batching ``N`` openings with powers of one challenge is bad for at most
    ``(N - 1) * n`` values (BCIKS20, correlated agreement for powers)."""
    n = 2.0 ** _log_lde_size(params, shape)
    bad = max(shape.num_batched_columns - 1, 1) * n
    return field_bits - math.log2(bad) + params.batch_pow_bits


def deep_bits(shape: InstanceShape = DEFAULT_SHAPE, field_bits: float = EXT_FIELD_BITS) -> float:
    """An out-of-domain point is bad for at most ``d * trace_len`` values (a
    list of size one, as both regimes here assume); the AIR layer owns that
    challenge, it is reported here so the total is honest."""
    bad = shape.max_constraint_degree * 2.0 ** shape.log_trace_len
    return field_bits - math.log2(bad)


def _field_terms(params: FriParams, shape: InstanceShape) -> dict[str, float]:
    return {
        "commit_phase": commit_phase_bits(params, shape),
        "batching": batching_bits(params, shape),
        "deep": deep_bits(shape),
        "hash_collision": float(HASH_COLLISION_BITS),
    }


def conjectured_terms(params: FriParams, shape: InstanceShape = DEFAULT_SHAPE) -> dict[str, float]:
    """Every term of the conjectured bound; the level is their minimum."""
    return {"query": random_words_query_bits(params), **_field_terms(params, shape)}


def proven_terms(params: FriParams, shape: InstanceShape = DEFAULT_SHAPE) -> dict[str, float]:
    """Every term of the proven (unique-decoding) bound."""
    return {"query": unique_decoding_query_bits(params, shape), **_field_terms(params, shape)}


def conjectured_bits(params: FriParams, shape: InstanceShape = DEFAULT_SHAPE) -> int:
    """Conjectured security in whole bits (random-words bound, field-capped)."""
    return math.floor(min(conjectured_terms(params, shape).values()))


def proven_bits(params: FriParams, shape: InstanceShape = DEFAULT_SHAPE) -> int:
    """Proven security in whole bits (unique-decoding regime, field-capped)."""
    return math.floor(min(proven_terms(params, shape).values()))


# ----------------------------------------------------------------------------
# Presets.
# ----------------------------------------------------------------------------

#: The default: rate 1/2 (cheapest LDE), 100 queries worth ~0.97 bits each
#: under the random-words bound plus 16 bits of query grinding (~113 bits);
#: folding by 8 (a third of the Merkle paths of binary folding, so smaller
#: proofs and less hashing) costs log2(7) bits per folding challenge, which 3
#: bits of grinding buy back; 12 bits of grinding before the batching challenge
#: keep 4096 batched openings of a 2^22-row table above 100 bits.
DEFAULT = FriParams(
    name="default",
    log_blowup=1,
    num_queries=100,
    pow_bits=16,
    log_final_poly_len=3,
    max_log_arity=3,
    batch_pow_bits=12,
    commit_pow_bits=3,
)

#: Bigger blowup, fewer queries: smaller proofs, slower prover (rate 1/8); the
#: larger LDE domain costs field bits, which a little more grinding buys back. It is the
#: preset chain-settled jobs are proven at (settlement/deployment.py), where every query
#: costs the EVM verifier about a million gas, so the query phase is bought with grinding
#: down to the level the field terms already set: 25 queries at -log2(rho + eta) = 2.95 bits
#: and 27 bits of grinding (~2^27 keccaks, a second or two) give 100.7 bits, beside 100.8
#: (commit), 100.6 (batching) and 100.0 (DEEP). Grinding costs the verifier one keccak.
#: A final polynomial of 32 coefficients (512 bytes, once) instead of 8 ends the folds one
#: layer earlier: one Merkle path less in every query (about 0.27 M gas on chain).
COMPACT = FriParams(
    name="compact",
    log_blowup=3,
    num_queries=25,
    pow_bits=27,
    log_final_poly_len=5,
    max_log_arity=3,
    batch_pow_bits=14,
    commit_pow_bits=5,
)

#: For on-chain settlement (settlement/onchain_verifier.py): every query costs the EVM verifier
#: its calldata and its work (~2,700 opened columns and ~25 Merkle paths per query of a zkMIPS
#: segment proof), so this preset buys the query-phase bits with a larger blowup and more
#: grinding instead of queries. Rate 1/16 makes a query worth -log2(rho + eta) = 3.94 bits
#: (eta = (log2(e) + 4) / 16 / log2|F|), so 18 queries + 30 bits of grinding give
#: 18 * 3.94 + 30 = 100.9 query bits (compact: 25 * 2.95 + 27 = 100.7). The LDE domain is
#: twice compact's, which costs one bit in the commit-phase and batching terms; two more bits of
#: grinding before each folding and the batching challenge buy it back with one to spare (compact:
#: 100.8 and 100.6), so every term is at
#: least compact's: min(100.9 query, 101.8 commit, 101.6 batching, 100.0 DEEP) = 100 bits
#: conjectured, 46 proven (compact: 47). The prover pays twice compact's LDE memory and time
#: and ~2^30 keccaks of query grinding (about ten seconds on two cores).
ONCHAIN = FriParams(
    name="onchain",
    log_blowup=4,
    num_queries=18,
    pow_bits=30,
    log_final_poly_len=3,
    max_log_arity=3,
    batch_pow_bits=16,
    commit_pow_bits=7,
)

#: For tests only: a handful of queries and no grinding. Its name says it, and
#: :func:`require_secure` refuses it.
INSECURE_FAST_TEST_PARAMS = FriParams(
    name="INSECURE_FAST_TEST_PARAMS",
    log_blowup=1,
    num_queries=4,
    pow_bits=1,
    log_final_poly_len=1,
    max_log_arity=1,
    batch_pow_bits=0,
    commit_pow_bits=0,
    insecure=True,
)

PRESETS: dict[str, FriParams] = {p.name: p for p in (DEFAULT, COMPACT, ONCHAIN, INSECURE_FAST_TEST_PARAMS)}


def require_secure(params: FriParams, shape: InstanceShape = DEFAULT_SHAPE,
                   min_bits: int = TARGET_CONJECTURED_BITS) -> FriParams:
    """Return ``params`` if they reach ``min_bits`` conjectured bits on
    ``shape`` and are not a test preset; raise :class:`InsecureParametersError`
    otherwise. Call it wherever a proof is meant to protect money."""
    if params.insecure:
        raise InsecureParametersError(f"FRI preset {params.name!r} is marked insecure (tests only)")
    bits = conjectured_bits(params, shape)
    if bits < min_bits:
        raise InsecureParametersError(
            f"FRI preset {params.name!r} gives {bits} conjectured bits, below the required {min_bits}")
    return params


def params_report(params: FriParams = DEFAULT, shape: InstanceShape = DEFAULT_SHAPE) -> dict:
    """The JSON-ready summary behind ``zkmips params --json`` (first seven keys
    are the stable interface; the rest explains where the numbers come from)."""
    return {
        "field": FIELD_NAME,
        "extension_degree": EXTENSION_DEGREE,
        "log_blowup": params.log_blowup,
        "num_queries": params.num_queries,
        "pow_bits": params.pow_bits,
        "conjectured_bits": conjectured_bits(params, shape),
        "proven_bits": proven_bits(params, shape),
        "preset": params.name,
        "conjecture": "random-words (ePrint 2025/2010), field-capped",
        "proven_regime": "unique decoding",
        "ethstark_bits": math.floor(min(ethstark_query_bits(params),
                                        *_field_terms(params, shape).values())),
        "params": asdict(params),
        "shape": asdict(shape),
        "conjectured_terms": {k: round(v, 2) for k, v in conjectured_terms(params, shape).items()},
        "proven_terms": {k: round(v, 2) for k, v in proven_terms(params, shape).items()},
    }
