"""The CPU table with every table it feeds: a whole (bare) guest execution proven."""

from __future__ import annotations

import numpy as np
import pytest

from prover import stark
from prover.air import System, check_buses, check_constraints
from prover.security import INSECURE_FAST_TEST_PARAMS as FAST
from prover.zkmips import cpu as C
from prover.zkmips import machine as MC
from tests.prover.zkmips.cpu_harness import BareRun, ExecutionProver, bare_elf


@pytest.fixture(scope="module")
def bare_o2(tmp_path_factory):
    return BareRun(bare_elf("O2", str(tmp_path_factory.mktemp("bare"))))


def test_cpu_degree_and_width():
    t = C.build_cpu()
    assert t.degree <= 3
    assert t.width < 200


def test_honest_run_satisfies_every_constraint_and_bus(bare_o2):
    w = bare_o2.witness()
    full = MC.with_lookups(bare_o2.tables, w.traces, w.publics)
    for t in bare_o2.tables:
        check_constraints(t, full[t.name], w.publics.get(t.name, ()))
    check_buses(System(bare_o2.tables), full, w.publics)


@pytest.fixture(scope="module")
def prover(bare_o2):
    return ExecutionProver(bare_o2, FAST)


def test_whole_execution_proves_and_verifies(prover):
    prover.prove_verify(prover.honest.traces)
