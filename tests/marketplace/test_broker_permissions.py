"""A worker's broker account reads its own offers and can do nothing else (real RabbitMQ)."""

from __future__ import annotations

import uuid

import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection, Exchange, Queue

from marketplace import broker_accounts, offers
from marketplace.celery_app import SETTLEMENT_QUEUE

BROKER = "amqp://guest:guest@127.0.0.1:5672//"


@pytest.fixture
def account():
    name = f"perm-{uuid.uuid4().hex[:8]}"
    url = broker_accounts.grant(name)
    offers.declare_exchange(BROKER)
    yield name, url
    broker_accounts.revoke(name)
    with Connection(BROKER) as conn:
        conn.default_channel.queue_delete(offers.queue_name(name))


def _refused(url: str, action) -> None:
    with Connection(url, connect_timeout=5) as conn:
        with pytest.raises(AccessRefused):
            action(conn.channel())


def test_the_worker_account_reads_its_own_offers(account):
    name, url = account
    with Connection(url, connect_timeout=5) as conn:
        queue = offers.worker_queue(name)(conn.default_channel)
        queue.declare()
        offers.publish(BROKER, {"job_id": "x", "hello": 1})
        for _ in range(50):
            message = queue.get(no_ack=True)
            if message is not None:
                break
            import time
            time.sleep(0.1)
        assert message is not None and message.payload["job_id"] == "x"


def test_the_worker_account_cannot_publish_or_reach_other_queues(account):
    name, url = account
    _refused(url, lambda ch: _publish_confirmed(ch, offers.EXCHANGE_NAME, ""))
    _refused(url, lambda ch: _publish_confirmed(ch, "", SETTLEMENT_QUEUE))
    _refused(url, lambda ch: Queue(offers.queue_name("someone-else"), durable=True)(ch).declare())
    _refused(url, lambda ch: ch.basic_get(SETTLEMENT_QUEUE))
    _refused(url, lambda ch: Exchange(offers.EXCHANGE_NAME, type="fanout", durable=True)(ch).delete())


def _publish_confirmed(channel, exchange: str, routing_key: str) -> None:
    """Publish and wait for the broker's answer (a plain publish is refused only later)."""
    channel.confirm_select()
    channel.basic_publish_confirm(channel.prepare_message(b"{}", content_type="application/json"),
                          exchange=exchange, routing_key=routing_key)


def test_permissions_name_only_the_operators_queue():
    configure, write, read = broker_accounts.permissions("acme")
    assert configure == write == r"^zkmips\.offers\.acme$"
    assert read == r"^(zkmips\.offers|zkmips\.offers\.acme)$"


def test_passwords_never_look_like_a_rabbitmqctl_option():
    """A password starting with '-' made ``rabbitmqctl add_user`` fail (once in 64 grants)."""
    passwords = [broker_accounts.new_password() for _ in range(2000)]
    assert not [p for p in passwords if p.startswith("-")]
    assert all(len(p) == 48 for p in passwords)
