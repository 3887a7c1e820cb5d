"""A real segmented proof through Celery on RabbitMQ: two `worker.segment_worker` processes
prove the io guest's six segments; one is killed mid-segment; its segment is redelivered
to the other, and the receipt verifies exactly like a local one."""

from __future__ import annotations

import threading
import time

import pytest

from prover.security import INSECURE_FAST_TEST_PARAMS as FAST
from prover.zkmips.segment_receipt import prove_segmented, verify_segmented
from tests.prover.zkmips.io_guest import PRIVATE, PUBLIC, build_io_guest

pytestmark = pytest.mark.slow          # two worker processes set up the prover: about a minute


def _received(w) -> int:
    return w.log().count("received")


def test_receipt_through_two_workers_survives_one_killed_mid_segment(workers, runner_factory, compile_c):
    import vm
    elf = build_io_guest(compile_c)
    victim, survivor = workers.start(2, ZKMIPS_TEST_TASK_MODULE="")
    runner = runner_factory(workers.queue, timeout=120)
    killed = threading.Event()

    def kill_when_busy() -> None:
        seen = _received(victim)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _received(victim) == seen:
            time.sleep(0.05)
        time.sleep(0.5)                               # inside the segment's witness or proof
        victim.kill_group()
        killed.set()

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "prove" and done == 0:
            threading.Thread(target=kill_when_busy, daemon=True).start()

    receipt = prove_segmented(elf, PUBLIC, PRIVATE, params=FAST, segment_log=7, runner=runner, progress=progress)
    assert killed.is_set() and not victim.alive() and survivor.alive()
    claim = verify_segmented(receipt.encode(), allow_insecure=True)
    res = vm.execute(elf, PUBLIC, PRIVATE)
    assert (claim.journal, claim.exit_code, claim.cycles) == (res.journal, res.exit_code, res.cycles)
    assert len(receipt.segment_proofs) == 6


def test_a_one_segment_run_is_proven_joined_by_a_worker(workers, runner_factory, compile_c):
    """A run of one segment goes to a worker as one "joined" task (its handler is in the
    allow-list) and comes back as a joined receipt."""
    import vm
    elf = build_io_guest(compile_c)
    workers.start(1, ZKMIPS_TEST_TASK_MODULE="")
    receipt = prove_segmented(elf, PUBLIC, PRIVATE, params=FAST, segment_log=12,
                              runner=runner_factory(workers.queue, timeout=120))
    assert receipt.joined and len(receipt.segment_proofs) == 1
    claim = verify_segmented(receipt.encode(), allow_insecure=True)
    assert claim.journal == vm.execute(elf, PUBLIC, PRIVATE).journal
