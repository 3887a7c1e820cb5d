"""The STARK engine under the zkMIPS: BabyBear field, NTT, keccak Merkle commitments,
Fiat-Shamir transcript, FRI, AIR expression layer, LogUp, multi-table proofs."""

from prover.errors import VerificationError

__all__ = ["VerificationError"]
from prover.transcript import Transcript  # noqa: E402
from prover.merkle import commit_matrices, verify_opening  # noqa: E402
from prover.security import DEFAULT as DEFAULT_FRI_PARAMS  # noqa: E402
from prover.security import INSECURE_FAST_TEST_PARAMS  # noqa: E402
from prover.security import FriParams  # noqa: E402
from prover.security import params_report  # noqa: E402
from prover.security import require_secure  # noqa: E402
from prover.pcs import Domain  # noqa: E402
from prover.pcs import FriPcs  # noqa: E402
from prover.air import Table  # noqa: E402
from prover.air import System  # noqa: E402
from prover.stark import setup  # noqa: E402
from prover.stark import prove  # noqa: E402
from prover.stark import verify  # noqa: E402
from prover.stark import StarkProof  # noqa: E402
from prover.stark import Statement  # noqa: E402
from prover.stark import VerifyingKey  # noqa: E402
from prover.proof import encode as encode_proof  # noqa: E402
from prover.proof import decode as decode_proof  # noqa: E402
from prover.proof import verify_bytes  # noqa: E402
