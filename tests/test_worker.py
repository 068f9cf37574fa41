"""A real Celery worker, started against the real Redis, writes to the real PostgreSQL."""

from datetime import date

import pytest

from credits.models import Statement
from credits.tasks import settle_contract_periods
from tests.credits.settlement_book import contract, objective, service
from tests.processes import wait_for


@pytest.mark.worker
def test_a_real_worker_runs_a_task_and_its_result_reaches_postgresql(celery_worker_process):
    # A period long closed, whatever the real clock says.
    c = contract(start=date(2020, 1, 1))
    service(c, fee="100.00")
    objective(c, key="on-time", indicator="ratio", target="99")

    settle_contract_periods.delay([[c.pk, "2020-01-01"]])

    assert wait_for(lambda: Statement.objects.filter(contract=c).exists(), timeout=30), (
        celery_worker_process.log()
    )


def test_a_queue_is_unbound_from_a_routing_key_it_no_longer_has():
    # An earlier release bound the notify queue to the default key: on Redis that binding
    # outlives the code, and every task went to both queues.
    from kombu import Connection

    from slaportal.celery import app, forget_stale_routes

    with Connection(app.conf.broker_url) as connection:
        channel = connection.default_channel
        client = channel.client
        for queue in ("celery", "notify"):
            client.delete(queue)
        channel.exchange_declare("celery", "direct")
        channel.queue_bind("notify", "celery", "celery")

        assert forget_stale_routes() == 1

        producer = connection.Producer()
        producer.publish({"n": 1}, exchange="celery", routing_key="celery", declare=[])
        assert (client.llen("celery"), client.llen("notify")) == (1, 0)
        assert forget_stale_routes() == 0
        client.delete("celery")
