"""AddSub, Bitwise and Lt side by side on one ``alu`` bus: one driver sends a mix of their
operations (results from the VM) and each table receives exactly its own."""

from __future__ import annotations

import numpy as np

from prover.zkmips import add_sub, bitwise, lt
from tests.prover.zkmips.alua_harness import forge_rejected, limb_edge_pairs, unbalanced
from tests.prover.zkmips.alub_harness import Prover, alu_driver, alu_driver_trace
from tests.prover.zkmips.test_add_sub import vm_events as add_sub_events
from tests.prover.zkmips.test_bitwise import vm_events as bitwise_events
from tests.prover.zkmips.test_lt import vm_events as lt_events

MODULES = ((add_sub, add_sub.build_add_sub, add_sub.add_sub_trace),
           (bitwise, bitwise.build_bitwise, bitwise.bitwise_trace),
           (lt, lt.build_lt, lt.lt_trace))


def test_mixed_operations_on_one_bus():
    rng = np.random.default_rng(3)
    pairs = limb_edge_pairs(rng, 24)
    per_table = [add_sub_events(pairs)[0], bitwise_events(pairs), lt_events(pairs)]
    order = rng.permutation(sum(len(ev["op"]) for ev in per_table))
    mixed = {k: np.concatenate([ev[k] for ev in per_table])[order] for k in ("op", "a", "b", "c")}
    prover = Prover([build() for _, build, _ in MODULES] + [alu_driver()])
    traces = {m.TABLE_NAME: trace(ev) for (m, _, trace), ev in zip(MODULES, per_table)}
    traces["alu_driver"] = alu_driver_trace(mixed)
    prover.prove_verify(traces)

    # AddSub leaving out one of its rows leaves that tuple unreceived: no other table
    # can take it.
    forged = dict(traces)
    forged[add_sub.TABLE_NAME] = add_sub.add_sub_trace({k: v[1:] for k, v in per_table[0].items()})
    forge_rejected(prover, traces, unbalanced("alu"), forged)
