"""The real OpenTelemetry Python SDK exporting metrics over OTLP/HTTP (protobuf) to a running
tidemark, as an instrumented service would.

Usage: otlp_export.py BASE_URL DATABASE
Two meter providers, as two processes of one service:
- "checkout/pod-1" (cumulative temporality, gzip, database by the X-Tidemark-Database header,
  path /v1/metrics): a gauge, a counter, an up-down counter and a histogram;
- "checkout/pod-2" (delta temporality, database by the `db` parameter, path
  /otlp/v1/metrics): a counter.
Each provider is flushed twice, with more recorded in between, and exports once more when it
shuts down. Every data point the exporter sent (and the server acknowledged) is printed as one
JSON line, so the test can compare what it reads back with exactly what the SDK exported.
Exports are at least 20 ms apart, so no two land in the same millisecond. Exits non-zero if an
export fails.
"""
import json
import sys
import time

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    HistogramDataPoint,
    MetricExportResult,
    PeriodicExportingMetricReader,
    Sum,
)
from opentelemetry.sdk.resources import Resource


class RecordingExporter(OTLPMetricExporter):
    """The SDK's own OTLP/HTTP exporter, remembering every point it exported successfully."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.points = []

    def export(self, metrics_data, timeout_millis=10_000, **kwargs):
        result = super().export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        if result != MetricExportResult.SUCCESS:
            print("FAIL: export was not acknowledged", file=sys.stderr)
            sys.exit(1)
        for resource_metrics in metrics_data.resource_metrics:
            resource = dict(resource_metrics.resource.attributes)
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    for point in metric.data.data_points:
                        self.points.append(describe(resource, metric, point))
        return result


def describe(resource, metric, point):
    data = metric.data
    entry = {
        "metric": metric.name,
        "unit": metric.unit,
        "instance": resource.get("service.instance.id"),
        "attributes": {key: str(value) for key, value in point.attributes.items()},
        "time_unix_nano": point.time_unix_nano,
    }
    if isinstance(data, Gauge):
        entry.update(kind="gauge", value=point.value)
    elif isinstance(data, Sum):
        entry.update(
            kind="sum",
            monotonic=data.is_monotonic,
            delta=data.aggregation_temporality == AggregationTemporality.DELTA,
            value=point.value,
        )
    elif isinstance(point, HistogramDataPoint):
        entry.update(
            kind="histogram",
            count=point.count,
            sum=point.sum,
            bucket_counts=list(point.bucket_counts),
            explicit_bounds=list(point.explicit_bounds),
        )
    else:
        entry.update(kind=type(data).__name__)
    return entry


def provider(instance, exporter):
    resource = Resource.create(
        {
            "service.name": "checkout",
            "service.instance.id": instance,
            "host.name": "web-1",
        }
    )
    # A long interval: exports happen only when the test flushes.
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    return MeterProvider(resource=resource, metric_readers=[reader])


def main():
    base, database = sys.argv[1], sys.argv[2]
    cumulative = RecordingExporter(
        endpoint=f"{base}/v1/metrics",
        headers={"X-Tidemark-Database": database},
        compression=Compression.Gzip,
    )
    delta = RecordingExporter(
        endpoint=f"{base}/otlp/v1/metrics?db={database}",
        preferred_temporality={
            Counter: AggregationTemporality.DELTA,
            Histogram: AggregationTemporality.DELTA,
        },
    )
    first = provider("pod-1", cumulative)
    second = provider("pod-2", delta)

    meter = first.get_meter("checkout.meter", "0.1.0")
    queue = meter.create_gauge("queue.depth", unit="{item}", description="Items waiting")
    requests = meter.create_counter(
        "http.requests", unit="{request}", description="HTTP requests served"
    )
    sessions = meter.create_up_down_counter(
        "active.sessions", unit="{session}", description="Sessions open"
    )
    latency = meter.create_histogram(
        "http.server.duration", unit="ms", description="Request latency"
    )
    jobs = second.get_meter("checkout.worker").create_counter(
        "jobs.processed", unit="{job}", description="Jobs processed"
    )

    queue.set(5, {"queue": "orders"})
    requests.add(3, {"http.method": "GET"})
    requests.add(1, {"http.method": "POST"})
    sessions.add(5)
    sessions.add(-2)
    for value in (3.2, 42.5, 31.0, 180.0):
        latency.record(value, {"http.route": "/cart"})
    jobs.add(5)
    flush(first, second)

    queue.set(7.5, {"queue": "orders"})
    requests.add(2, {"http.method": "GET"})
    sessions.add(1)
    latency.record(12.0, {"http.route": "/cart"})
    jobs.add(7)
    flush(first, second)

    first.shutdown()
    second.shutdown()
    for point in cumulative.points + delta.points:
        print(json.dumps(point))


def flush(*providers):
    for each in providers:
        each.force_flush()
    time.sleep(0.02)


if __name__ == "__main__":
    main()
