"""What `make run` prints once the stack answers (marketplace/management/stack.py)."""

from __future__ import annotations

from marketplace.management.stack import banner

DEMO = {
    "url": "http://127.0.0.1:8000", "file": "var/demo.json",
    "client": {"username": "demo", "password": "pw-client", "token": "zkm_client"},
    "operator": {"username": "demo-operator", "password": "pw-op", "token": "zkm_op"},
    "broker": {"shown": "amqp://127.0.0.1:5672//", "why": "the local RabbitMQ answers"},
}


def test_the_banner_names_the_portal_the_accounts_and_a_command_to_try():
    text = banner(DEMO)
    assert "zkMIPS marketplace: http://127.0.0.1:8000/" in text
    assert "demo / pw-client   API token zkm_client" in text
    assert "--token zkm_client --wait" in text
    assert "Clinic:" not in text


def test_the_banner_points_at_the_clinic_when_the_demo_model_is_registered():
    text = banner({**DEMO, "model": {"name": "ecg-demo", "commitment": "bb48075eee5c9e5b" + "0" * 48}})
    assert "Clinic: http://127.0.0.1:8000/clinic/ (log in as demo) - model ecg-demo, commitment bb48075eee5c9e5b..." in text
