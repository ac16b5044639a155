"""Helpers for the HTTP API's tests: a client on the app as `serve` builds it, tokens, Server-Sent
Events read off a stream, and the daemon's part played by hand (a sensor tick, then the run)."""

import json
import threading

import dagster as dg
from dagster_aws.s3 import S3Resource
from fastapi.testclient import TestClient

from elevra_pipeline.api.app import create_app
from elevra_pipeline.api.services import ApiServices
from elevra_pipeline.defs.api_requests import api_request_sensor
from elevra_pipeline.defs.sensors import upload_bucket_sensor
from elevra_pipeline_tests.helpers import materialize_upload, sensor_context

ADMIN_TOKEN = "admin-token-for-the-tests-0001"
VIEWER_TOKEN = "viewer-token-for-the-tests-0001"
AS_ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
AS_VIEWER = {"Authorization": f"Bearer {VIEWER_TOKEN}"}


def api_client(monkeypatch, db_url: str, **env) -> TestClient:
    """The app as `elevra-pipeline serve` wires it, from this test's environment."""
    monkeypatch.setenv("ELEVRA_DATABASE_URL", db_url)
    monkeypatch.setenv("ELEVRA_API_TOKENS", json.dumps({ADMIN_TOKEN: "admin", VIEWER_TOKEN: "viewer"}))
    monkeypatch.setenv("ELEVRA_API_POLL_SECONDS", "0.1")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return TestClient(create_app(ApiServices.from_env()))


def server_sent_events(lines) -> list[tuple[str, dict]]:
    """(event, data) of each event of a `text/event-stream`, until the stream ends."""
    events, name, data = [], "message", ""
    for line in lines:
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif not line and data:
            events.append((name, json.loads(data)))
            name, data = "message", ""
    return events


def sensor_tick(sensor, instance, db_url: str, cursor: str | None = None) -> dg.SensorResult:
    with sensor_context(instance, db_url, cursor, s3=S3Resource()) as context:
        result = sensor.evaluate_tick(context)
    for request in result.dynamic_partitions_requests:  # as the daemon does
        instance.add_dynamic_partitions("uploads", list(request.partition_keys))
    return result


def bucket_tick(instance, db_url: str) -> dg.SensorResult:
    return sensor_tick(upload_bucket_sensor, instance, db_url)


def api_tick(instance, db_url: str, cursor: str | None = None) -> dg.SensorResult:
    return sensor_tick(api_request_sensor, instance, db_url, cursor)


def run_in_background(upload, instance, resources) -> threading.Thread:
    """The run the daemon would launch, while the test watches the API."""
    thread = threading.Thread(target=materialize_upload, args=(upload, instance, resources), daemon=True)
    thread.start()
    return thread
