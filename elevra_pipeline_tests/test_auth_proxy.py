"""The production recipe: nginx with basic auth in front of the Dagster webservers, which listen on
127.0.0.1 only; one full UI for admins, one read-only UI for viewers; and the HTTP API behind the same
nginx, checking its own bearer tokens (deploy/proxy/nginx.conf)."""

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "deploy" / "proxy" / "nginx.conf"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tools():
    missing = [
        tool for tool in ("nginx", "openssl") if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists()
    ]
    if missing:
        reason = f"{' and '.join(missing)} not installed (Debian: apt-get install nginx-light openssl; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the auth proxy test: {reason}")
        pytest.skip(reason)
    return shutil.which("nginx") or "/usr/sbin/nginx"


def _htpasswd(path: Path, user: str, password: str) -> None:
    """As the README says: `openssl passwd -apr1` (Apache's MD5-based crypt, which nginx reads)."""
    hashed = subprocess.run(["openssl", "passwd", "-apr1", password], capture_output=True, text=True, check=True)
    path.write_text(f"{user}:{hashed.stdout.strip()}\n")


def _request(url: str, credentials: tuple[str, str] | None = None, body: dict | None = None):
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None)
    if body:
        request.add_header("Content-Type", "application/json")
    if credentials:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(credentials).encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 120, log: Path | None = None) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            said = log.read_text()[-2000:] if log and log.exists() else ""
            raise AssertionError(f"{url}: the server exited with {process.returncode}\n{said}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers (401 from nginx)
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds}s")


@pytest.fixture(scope="module")
def proxy(tools, tmp_path_factory):
    home = tmp_path_factory.mktemp("proxy")
    (home / "dagster_home").mkdir()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home / "dagster_home"),
        "ELEVRA_DATA_DIR": str(home / "data"),
    }
    # the instance's storage created once, before two webservers open it at the same moment (each would
    # create and stamp the fresh SQLite storage, and one of them can fail)
    import dagster as dg

    dg.DagsterInstance.from_config(str(home / "dagster_home")).dispose()
    ui, read_only, admins, viewers, api, api_public = (_free_port() for _ in range(6))
    webserver = [sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1", "-w", str(REPO / "workspace.yaml")]
    logs = [home / "ui.log", home / "read_only.log"]
    servers = [
        subprocess.Popen(
            [*webserver, "-p", str(port), *extra], env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log.open("w")
        )
        for port, extra, log in ((ui, [], logs[0]), (read_only, ["--read-only"], logs[1]))
    ]
    api_env = {**env, "ELEVRA_API_TOKENS": json.dumps({API_ADMIN: "admin", API_VIEWER: "viewer"})}
    serve = [sys.executable, "-m", "elevra_pipeline.cli", "serve", "--host", "127.0.0.1", "--port", str(api)]
    logs.append(home / "api.log")
    servers.append(subprocess.Popen(serve, env=api_env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=logs[2].open("w")))
    prefix = home / "nginx"
    for folder in ("auth", "logs", "run"):
        (prefix / folder).mkdir(parents=True)
    # the recipe as shipped, with this test's free ports for the six well-known ones (in one pass: a free
    # port put in for one must not be matched by the next)
    ports = {"8080": admins, "8081": viewers, "8082": api_public, "3000": ui, "3001": read_only, "8000": api}
    conf = re.sub(r"\b(808[012]|3000|3001|8000)\b", lambda m: str(ports[m.group()]), CONF.read_text())
    (prefix / "nginx.conf").write_text(conf)
    _htpasswd(prefix / "auth" / "admins.htpasswd", "admin", "admin-secret")
    _htpasswd(prefix / "auth" / "viewers.htpasswd", "viewer", "viewer-secret")
    servers.append(
        # as root, nginx's workers would switch to `nobody`, who cannot read this test's private temp folder
        subprocess.Popen(
            [
                tools,
                "-p",
                str(prefix),
                "-c",
                "nginx.conf",
                "-g",
                "daemon off;" + (" user root;" if os.geteuid() == 0 else ""),
            ],
            stderr=subprocess.DEVNULL,
        )
    )
    try:
        for port, process, log in ((ui, servers[0], logs[0]), (read_only, servers[1], logs[1])):
            _wait_for(f"http://127.0.0.1:{port}/server_info", process, log=log)
        _wait_for(f"http://127.0.0.1:{api}/healthz", servers[2], log=logs[2])
        _wait_for(f"http://127.0.0.1:{admins}/", servers[3], 20)
        yield {
            "admins": f"http://127.0.0.1:{admins}",
            "viewers": f"http://127.0.0.1:{viewers}",
            "api": f"http://127.0.0.1:{api_public}",
        }
    finally:
        for process in servers:
            process.terminate()
        for process in servers:
            process.wait(timeout=30)


API_ADMIN, API_VIEWER = "api-admin-token-for-the-proxy", "api-viewer-token-for-the-proxy"
PERMISSIONS = {"query": "{ version permissions { permission value } }"}


def _permissions(body: str) -> dict:
    data = json.loads(body)["data"]
    assert data["version"]
    return {p["permission"]: p["value"] for p in data["permissions"]}


def test_without_credentials_the_proxy_answers_401_and_shows_nothing(proxy):
    for url in (proxy["admins"] + "/", proxy["admins"] + "/graphql", proxy["viewers"] + "/"):
        status, body = _request(url)
        assert status == 401 and "Dagster" not in body
    assert _request(proxy["admins"] + "/", ("admin", "wrong"))[0] == 401
    assert _request(proxy["viewers"] + "/", ("admin", "admin-secret"))[0] == 401  # admins are not viewers here


def test_admins_get_the_ui_and_its_graphql_with_every_permission(proxy):
    status, page = _request(proxy["admins"] + "/", ("admin", "admin-secret"))
    assert status == 200 and "Dagster" in page
    status, body = _request(proxy["admins"] + "/graphql", ("admin", "admin-secret"), PERMISSIONS)
    assert status == 200 and _permissions(body)["launch_pipeline_execution"] is True


def test_viewers_get_a_read_only_ui(proxy):
    status, body = _request(proxy["viewers"] + "/graphql", ("viewer", "viewer-secret"), PERMISSIONS)
    permissions = _permissions(body)
    assert status == 200 and permissions["launch_pipeline_execution"] is False
    assert permissions["terminate_pipeline_execution"] is False and permissions["wipe_assets"] is False


def _bearer(url: str, token: str | None = None, data: bytes | None = None, content_type: str = ""):
    request = urllib.request.Request(url, data=data)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_the_api_behind_the_proxy_checks_its_own_bearer_tokens(proxy):
    assert _bearer(proxy["api"] + "/uploads")[0] == 401  # the service's own answer, through nginx
    assert _bearer(proxy["api"] + "/uploads", API_VIEWER) == (
        200, {"page": 1, "per_page": 20, "total": 0, "pages": 1, "next": None, "uploads": []},
    )  # fmt: skip
    boundary = "proxy-test"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="list.csv"\r\n\r\n'
        "Candidate,Office,City,Date\r\nAnn Lee,Mayor,Springfield,2026-11-03\r\n"
        f"\r\n--{boundary}--\r\n"
    ).encode()
    form = f"multipart/form-data; boundary={boundary}"
    assert _bearer(proxy["api"] + "/uploads", API_VIEWER, body, form)[0] == 403
    status, sent = _bearer(proxy["api"] + "/uploads", API_ADMIN, body, form)
    assert status == 202 and sent["status"] == "queued" and sent["status_url"] == f"/uploads/{sent['upload_id']}"
