"""Tests of distributed segment proving (Celery over RabbitMQ)."""
