"""The contracts app's own Prometheus counters (served by ``/metrics``, see
slaportal.observability.metrics). Under gunicorn each worker writes them to
``PROMETHEUS_MULTIPROC_DIR`` and a scrape adds the workers up."""

from prometheus_client import Counter

SAMPLES_RECORDED = Counter(
    "slaportal_samples_recorded",
    "Samples stored by record_measurements (committed batches); its rate is the ingestion rate.",
)
