"""Published change sets for other systems (issue 27, item 6): POSTed as signed JSON to a local
receiver, retried while it is down, received once per change set whatever the faults."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from elevra_pipeline.notifications.webhook import WebhookSender
from elevra_pipeline.settings import Settings, SettingsError
from elevra_pipeline.uploads.admin import revert
from elevra_pipeline_tests.helpers import materialize_upload, register

SECRET = "s3cret-for-tests"
LIST = "Candidate,Office,City,Date,Party\nAnn Lee,Mayor,Springfield,2026-11-03,Democratic\n"


class Receiver:
    """Answers 503 `down_for` times, then 200; keeps each change set once by its idempotency key."""

    def __init__(self, down_for: int = 0):
        self.down_for, self.posts, self.received = down_for, 0, {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts += 1
                expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                if receiver.posts <= receiver.down_for:
                    self.send_response(503)
                elif self.headers["X-Elevra-Signature"] != expected:
                    self.send_response(401)
                else:
                    receiver.received.setdefault(self.headers["Idempotency-Key"], json.loads(body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/elevra"


@pytest.fixture
def receiver(monkeypatch):
    made = Receiver(down_for=2)
    monkeypatch.setenv("ELEVRA_WEBHOOK_URL", made.url)
    monkeypatch.setenv("ELEVRA_WEBHOOK_SECRET", SECRET)
    yield made
    made.server.shutdown()


def test_each_published_change_set_reaches_a_receiver_that_was_down_once(repo, instance, resources, receiver, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(LIST)
    upload = register(repo, path, instance)
    materialize_upload(upload, instance, resources)
    later = [0.0]
    sender = WebhookSender(SECRET, clock=lambda: time.time() + later[0])

    outcomes = []
    for _ in range(4):  # down, down, then up; the fourth pass finds nothing due
        outcomes.append(sender.deliver_due(repo))
        later[0] += 3600  # past any backoff, within the day deliveries are retried for
    assert [o["retrying"] for o in outcomes] == [1, 1, 0, 0] and outcomes[2]["delivered"] == 1, outcomes
    (delivery,) = repo.deliveries(upload.id)
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    (change_set,) = receiver.received.values()
    assert change_set["upload"]["id"] == upload.id
    assert {(c["record_type"], c["field"], c["new"]) for c in change_set["changes"]} >= {
        ("candidate", "name", "Ann Lee"),
        ("candidate", "party", "Democratic"),
    }

    repo.update_delivery(delivery.id, status="pending", next_attempt_at=0.0)  # a sender that died after sending
    sender.deliver_due(repo)
    assert len(receiver.received) == 1 and receiver.posts == 4  # sent again, received once (same key)

    revert(repo, upload.id, "wrong file", Settings.from_env().webhook_url)
    sender.deliver_due(repo)
    assert len(receiver.received) == 2
    undo = [s for key, s in receiver.received.items() if "-revert-" in key][0]
    assert {c["action"] for c in undo["changes"]} == {"removed"}


def test_a_webhook_url_without_its_secret_is_refused_at_wiring(monkeypatch):
    monkeypatch.setenv("ELEVRA_WEBHOOK_URL", "https://hooks.example.org/elevra")
    monkeypatch.delenv("ELEVRA_WEBHOOK_SECRET", raising=False)
    with pytest.raises(SettingsError, match="ELEVRA_WEBHOOK_SECRET is not"):
        Settings.from_env()
