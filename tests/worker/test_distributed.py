"""Distributed segment proving through the real RabbitMQ: CeleryRunner + segment workers.

Workers run the fast fake phases of tests/worker/fake_tasks.py (loaded through
ZKMIPS_TEST_TASK_MODULE), never the prover: these tests are about transport and failures.
"""

from __future__ import annotations

import base64
import os
import signal
import threading
import time

import pytest

from tests.worker.conftest import make_workers
from tests.worker.fake_tasks import expected
from worker.distributed import NoWorkerError, SegmentRunError

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def pair(broker, broker_url, tmp_path_factory):
    """Two workers on one queue, shared by the tests that do not kill workers."""
    w = make_workers(broker, broker_url, tmp_path_factory.mktemp("pair"))
    w.start(2)
    yield w
    w.stop_all()
    broker.delete_queue(w.queue)


def run_in_thread(fn):
    """Run fn() in a thread; returns (thread, box) where box gets 'result' or 'error'."""
    box: dict = {}

    def target():
        try:
            box["result"] = fn()
        except BaseException as e:  # noqa: BLE001
            box["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, box


def wait_for(predicate, timeout: float, what: str, workers=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}\n{workers.logs() if workers else ''}")


def test_map_on_two_workers_results_in_order(pair, runner_factory):
    payloads = [b"", b"\x00", os.urandom(1000), b"segment-3", os.urandom(300_000), os.urandom(3_000_000)]
    runner = runner_factory(pair.queue, timeout=20)
    done: list[int] = []
    results = runner.map("fake", payloads, on_done=done.append)
    assert results == [expected(p) for p in payloads]
    assert sorted(done) == list(range(len(payloads)))  # once per payload
    ends = [(pgid, p) for event, pgid, _, p in pair.fake_events() if event == "end" and p in payloads]
    assert {pgid for pgid, _ in ends} == {w.pid for w in pair.procs}, "both workers should have proved segments"
    # the same runner maps again (the prover calls map for "commit", then for "prove")
    assert runner.map("fake", [b"again"]) == [expected(b"again")]
    assert runner.map("fake", []) == []


def test_task_failure_is_one_clear_line(pair, runner_factory):
    runner = runner_factory(pair.queue, timeout=20)
    with pytest.raises(SegmentRunError) as e:
        runner.map("fake_fail", [b"boom"])
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith("segment 0 of 1 (fake_fail) failed on a worker: ValueError: fake failure on payload")

    with pytest.raises(SegmentRunError, match=r"unknown segment phase 'os\.system'"):
        runner.map("os.system", [b"echo pwned"])  # phases are an allow-list, never a path
    # the runner is usable after a failure
    assert runner.map("fake", [b"after"]) == [expected(b"after")]


def test_pickle_messages_are_refused(pair, runner_factory, broker):
    from worker.celery_app import TASK_NAME
    runner = runner_factory(pair.queue)
    marker = b"pickled-" + os.urandom(4)
    runner.app.send_task(TASK_NAME, args=("fake", base64.b64encode(marker).decode()), queue=pair.queue,
                         serializer="pickle")
    wait_for(lambda: "ContentDisallowed" in "".join(p.log() for p in pair.procs) or None, 10,
             "a worker to refuse the pickle message", pair)
    wait_for(lambda: broker.queue_state(pair.queue)[0] == 0, 10, "the refused message to leave the queue", pair)
    assert all(p != marker for _, _, _, p in pair.fake_events())


def test_interrupt_abandons_the_rest(pair, runner_factory, broker):
    """^C while collecting (here: raised by on_done) stops the map; queued segments are skipped."""
    runner = runner_factory(pair.queue, timeout=20)
    payloads = [f"interrupt-{i}".encode() for i in range(8)]

    def on_done(i):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runner.map("fake", payloads, on_done=on_done)
    wait_for(lambda: broker.queue_state(pair.queue)[0] == 0, 10, "the queue to drain", pair)
    time.sleep(0.5)
    ended = {p for e, _, _, p in pair.fake_events() if e == "end" and p in payloads}
    assert len(ended) < len(payloads) - 2, "queued segments should have been skipped"


def test_stall_timeout(pair, runner_factory):
    runner = runner_factory(pair.queue, timeout=20, stall_timeout=0.5)
    t0 = time.monotonic()
    with pytest.raises(SegmentRunError, match=r"^fake_slow: no segment result for 0\.5 s \(1 of 1 outstanding"):
        runner.map("fake_slow", [b"stall"])
    assert time.monotonic() - t0 < 2.5


def test_worker_killed_mid_segment_is_redelivered(workers, runner_factory):
    a, b = workers.start(2, ZKMIPS_FAKE_SLOW_SLEEP="2")
    runner = runner_factory(workers.queue, timeout=20)
    payloads = [f"kill-{i}".encode() for i in range(3)]
    done: list[int] = []
    thread, box = run_in_thread(lambda: runner.map("fake_slow", payloads, on_done=done.append))

    starts = wait_for(lambda: [e for e in workers.fake_events() if e[0] == "start"], 15,
                      "a segment to start", workers)
    _, victim_pgid, _, victim_payload = starts[0]
    victim = a if victim_pgid == a.pid else b
    survivor = b if victim is a else a
    time.sleep(0.3)  # well inside the 2 s segment
    victim.kill_group()  # main process and pool process: the broker connection closes

    thread.join(30)
    assert not thread.is_alive(), workers.logs()
    assert "error" not in box, f"{box.get('error')!r}\n{workers.logs()}"
    assert box["result"] == [expected(p) for p in payloads]
    assert sorted(done) == [0, 1, 2]

    events = workers.fake_events()
    assert not victim.alive() and survivor.alive()
    # the killed segment never finished on the victim, and was proved again on the survivor
    assert ("end", victim.pid) not in {(e, g) for e, g, _, p in events if p == victim_payload}
    assert [(e, g) for e, g, _, p in events if p == victim_payload] == [
        ("start", victim.pid), ("start", survivor.pid), ("end", survivor.pid)]
    # nothing lost, nothing proved twice to completion
    ends = [p for e, _, _, p in events if e == "end"]
    assert sorted(ends) == sorted(payloads)


def test_pool_process_killed_segment_is_requeued(workers, runner_factory):
    """Only the pool process dies (OOM killer, segfault): task_reject_on_worker_lost requeues."""
    (w,) = workers.start(1, ZKMIPS_FAKE_SLOW_SLEEP="1.5")
    runner = runner_factory(workers.queue, timeout=20)
    payloads = [b"oom-0", b"oom-1"]
    thread, box = run_in_thread(lambda: runner.map("fake_slow", payloads))
    _, pgid, child, payload = wait_for(lambda: [e for e in workers.fake_events() if e[0] == "start"], 15,
                                       "a segment to start", workers)[0]
    assert pgid == w.pid and child != w.pid
    time.sleep(0.3)
    os.kill(child, signal.SIGKILL)

    thread.join(30)
    assert not thread.is_alive(), workers.logs()
    assert "error" not in box, f"{box.get('error')!r}\n{workers.logs()}"
    assert box["result"] == [expected(p) for p in payloads]
    assert w.alive()
    runs = [(e, pid) for e, _, pid, p in workers.fake_events() if p == payload]
    assert runs[0] == ("start", child) and ("end", child) not in runs
    assert [e for e, _ in runs] == ["start", "start", "end"] and runs[1][1] != child


def test_failure_stops_running_and_queued_segments(workers, runner_factory, broker):
    slow = 4.0
    a, b = workers.start(2, ZKMIPS_FAKE_SLOW_SLEEP=str(slow))
    runner = runner_factory(workers.queue, timeout=20)
    payloads = [b"slow-0", b"fail-1", b"slow-2", b"slow-3", b"slow-4"]
    t0 = time.monotonic()
    with pytest.raises(SegmentRunError, match=r"^segment 1 of 5 \(fake_mixed\) failed on a worker: ValueError"):
        runner.map("fake_mixed", payloads)
    assert time.monotonic() - t0 < slow - 1  # the failure ends the map, not the slow segments

    # give every worker time to finish anything it could still be running
    time.sleep(max(0.0, t0 + slow + 0.7 - time.monotonic()))
    events = workers.fake_events()
    starts = [p for e, _, _, p in events if e == "start"]
    ends = [p for e, _, _, p in events if e == "end"]
    assert b"slow-0" in starts and b"slow-0" not in ends, "the running segment should have been killed"
    # queued segments were skipped: their client's reply queue was gone
    assert b"slow-3" not in starts and b"slow-4" not in starts, workers.logs()
    assert broker.queue_state(workers.queue) == (0, 2)
    assert a.alive() and b.alive()


def test_time_limit_fails_the_segment_for_good(workers, runner_factory, broker):
    workers.start(1, ZKMIPS_TASK_TIME_LIMIT="1", ZKMIPS_FAKE_SLOW_SLEEP="10")
    runner = runner_factory(workers.queue, timeout=20)
    t0 = time.monotonic()
    with pytest.raises(SegmentRunError, match=r"^segment 0 of 1 \(fake_slow\) failed on a worker: TimeLimitExceeded"):
        runner.map("fake_slow", [b"too-long"])
    assert time.monotonic() - t0 < 8
    assert broker.queue_state(workers.queue) == (0, 1)  # acknowledged, not requeued


def test_no_worker_is_a_clear_timeout_and_orphans_are_skipped(workers, runner_factory, broker):
    runner = runner_factory(workers.queue, timeout=2)
    t0 = time.monotonic()
    with pytest.raises(NoWorkerError) as e:
        runner.map("fake", [b"orphan-0", b"orphan-1"])
    assert time.monotonic() - t0 < 8
    assert isinstance(e.value, TimeoutError)
    message = str(e.value)
    assert "\n" not in message and workers.queue in message and "no worker is consuming" in message
    assert "guest:guest" not in message  # no password in messages
    assert broker.queue_state(workers.queue) == (2, 0)

    # a worker that appears later does not prove segments nobody waits for any more
    (w,) = workers.start(1)
    wait_for(lambda: w.log().count("client is gone") == 2, 15, "the orphans to be skipped", workers)
    assert broker.queue_state(workers.queue) == (0, 1)
    assert workers.fake_events() == []
