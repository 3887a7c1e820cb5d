"""The worker pieces that need no broker: settings, the task's allow-list, the runner's checks, the CLI."""

from __future__ import annotations

import base64

import pytest

from worker import celery_app, segment_tasks, segment_worker
from worker.distributed import CeleryRunner, SegmentRunError, _redact


def test_reliability_settings():
    conf = celery_app.make_app(broker_url="amqp://u:p@broker.example:5672//", queue="q1").conf
    assert conf.broker_url == "amqp://u:p@broker.example:5672//"
    assert conf.result_backend == "rpc://"
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == conf.result_serializer == "json"
    assert list(conf.accept_content) == ["json"] and list(conf.result_accept_content) == ["json"]
    assert conf.broker_connection_retry_on_startup is True
    assert conf.task_default_queue == "q1"
    assert 0 < conf.task_time_limit < 30 * 60  # below RabbitMQ's default consumer_timeout
    assert conf.task_track_started is True


def test_environment(monkeypatch):
    monkeypatch.setenv("ZKMIPS_BROKER_URL", "amqp://other:5672//")
    monkeypatch.setenv("ZKMIPS_SEGMENT_QUEUE", "zq")
    monkeypatch.setenv("ZKMIPS_TASK_TIME_LIMIT", "30")
    conf = celery_app.make_app().conf
    assert (conf.broker_url, conf.task_default_queue, conf.task_time_limit) == ("amqp://other:5672//", "zq", 30.0)
    monkeypatch.setenv("ZKMIPS_TASK_TIME_LIMIT", "soon")
    with pytest.raises(ValueError, match="ZKMIPS_TASK_TIME_LIMIT"):
        celery_app.make_app()
    monkeypatch.delenv("ZKMIPS_BROKER_URL")
    monkeypatch.delenv("ZKMIPS_TASK_TIME_LIMIT")
    assert celery_app.make_app().conf.broker_url == celery_app.DEFAULT_BROKER_URL


def test_worker_argv():
    argv = segment_worker.worker_argv(concurrency=3, queue="qq", loglevel="DEBUG", hostname="h@x")
    assert argv[0] == "worker"
    for flag in ("--pool=prefork", "--concurrency=3", "--queues=qq", "--loglevel=DEBUG", "--hostname=h@x",
                 "--without-mingle", "--without-gossip"):
        assert flag in argv
    assert argv[argv.index("-O") + 1] == "fair"
    assert "--concurrency=1" in segment_worker.worker_argv()
    with pytest.raises(ValueError):
        segment_worker.worker_argv(concurrency=0)


def call_task(phase, payload_b64):
    return segment_tasks.segment.run(phase, payload_b64)


def test_task_allow_list(monkeypatch):
    monkeypatch.setitem(segment_tasks.HANDLERS, "double", lambda p: p + p)
    assert base64.b64decode(call_task("double", base64.b64encode(b"ab").decode())) == b"abab"
    for phase in ("os.system", "prover.zkmips.segments.run_task", "__import__", "", None, 1):
        with pytest.raises(segment_tasks.UnknownPhase):
            call_task(phase, "")
    with pytest.raises(segment_tasks.BadPayload):
        call_task("double", "not base64!")
    with pytest.raises(segment_tasks.BadPayload):
        call_task("double", b"YWI=")
    monkeypatch.setitem(segment_tasks.HANDLERS, "text", lambda p: "not bytes")
    with pytest.raises(TypeError, match="not bytes"):
        call_task("text", "")


def test_prover_phases_are_registered():
    assert {"commit", "prove"} <= set(segment_tasks.HANDLERS)


def test_test_module_must_be_a_test_module(monkeypatch):
    monkeypatch.setenv(segment_tasks.TEST_MODULE_ENV, "os")
    with pytest.raises(RuntimeError, match="only test modules"):
        segment_tasks._load_test_module()


def test_runner_checks_before_sending(monkeypatch):
    runner = CeleryRunner(celery_app.make_app(broker_url="amqp://nobody:1//"), queue="q")
    assert runner.map("commit", []) == []
    with pytest.raises(TypeError, match="payload 1 is str"):
        runner.map("commit", [b"ok", "text"])
    monkeypatch.setattr("worker.distributed.MAX_PAYLOAD_BYTES", 10)
    with pytest.raises(SegmentRunError, match="over the broker's message limit"):
        runner.map("commit", [b"x" * 11])
    with pytest.raises(ValueError):
        CeleryRunner(queue="q", timeout=0)


def test_redact():
    assert _redact("amqp://guest:secret@host:5672//") == "amqp://guest@host:5672//"
    assert _redact("amqp://host//") == "amqp://host//"


def test_cli_worker_prove_segments(monkeypatch, capsys):
    from zkmips.cli import main
    calls = []
    monkeypatch.setattr(segment_worker, "run_worker", lambda **kw: calls.append(kw))
    assert main(["worker", "prove-segments", "--concurrency", "2", "--queue", "q", "--broker", "amqp://b//"]) == 0
    assert calls == [{"concurrency": 2, "queue": "q", "loglevel": "INFO", "broker": "amqp://b//", "threads": None}]
    assert main(["worker", "prove-segments", "--concurrency", "0"]) == 125
    assert capsys.readouterr().err.strip() == "zkmips: error: --concurrency must be at least 1"
    assert main(["worker", "prove-segments", "--threads", "1"]) == 0
    assert calls[-1]["threads"] == 1
    assert main(["worker", "prove-segments", "--threads", "0"]) == 125
    assert capsys.readouterr().err.strip() == "zkmips: error: --threads must be at least 1"


def test_unreachable_broker_is_one_line():
    app = celery_app.make_app(broker_url="amqp://guest:secret@127.0.0.1:1//", queue="q")
    app.conf.task_publish_retry = False
    app.conf.broker_transport_options = {**app.conf.broker_transport_options, "max_retries": 0}  # fail fast
    runner = CeleryRunner(app, queue="q", timeout=1)
    with pytest.raises(SegmentRunError) as e:
        runner.map("commit", [b"x"])
    assert str(e.value).startswith("cannot send segment tasks to the broker at amqp://guest@127.0.0.1:1//: ")
    assert "secret" not in str(e.value) and "\n" not in str(e.value)
