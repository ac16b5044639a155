"""deploy/: the instance files load with Dagster's own schema, the Kubernetes run launcher's config
passes dagster-k8s's schema, the Helm values agree with it, and the Dockerfile keeps its promises
(no Docker daemon or helm binary here: what can be checked without them is)."""

import re
import sys
from pathlib import Path

import pytest
import yaml
from dagster._config import convert_potential_field, process_config
from dagster._core.instance.config import dagster_instance_config
from dagster_k8s import K8sRunLauncher

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
MODULE = "elevra_pipeline.definitions"
SECRETS = ("GEMINI_API_KEY", "RESEND_API_KEY", "AWS_SECRET_ACCESS_KEY", "PASSWORD")


@pytest.mark.parametrize("path", [DEPLOY / "dagster.postgres.yaml", DEPLOY / "k8s" / "dagster.yaml"])
def test_each_instance_file_loads_with_dagsters_schema(path, monkeypatch):
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", "postgresql+psycopg2://dagster@127.0.0.1:5432/dagster")
    config, _ = dagster_instance_config(str(path.parent), path.name)
    assert "postgres" in config["storage"] and config["run_coordinator"]["class"] == "QueuedRunCoordinator"


def _k8s_launcher_config() -> dict:
    launcher = yaml.safe_load((DEPLOY / "k8s" / "dagster.yaml").read_text())["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    return launcher["config"]


def test_the_kubernetes_run_launcher_config_passes_dagster_k8s_schema():
    schema = convert_potential_field(K8sRunLauncher.config_type()).config_type
    checked = process_config(schema, _k8s_launcher_config())
    assert checked.success, [e.message for e in checked.errors]
    assert not process_config(schema, {**_k8s_launcher_config(), "job_namspace": "typo"}).success  # it can fail


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_the_helm_values_run_each_run_as_a_job_from_our_code_location_with_the_same_secrets():
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    launcher = values["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    fields = set(K8sRunLauncher.config_type())
    helm_launcher = launcher["config"]["k8sRunLauncher"]
    assert {_snake(k) for k in helm_launcher} <= fields  # the chart maps its camelCase keys onto these
    assert [s["name"] for s in helm_launcher["envSecrets"]] == _k8s_launcher_config()["env_secrets"]
    (code,) = values["dagster-user-deployments"]["deployments"]
    assert code["dagsterApiGrpcArgs"] == ["-m", MODULE] and code["image"]["repository"]
    assert values["dagsterWebserver"]["service"]["type"] == "ClusterIP" and values["dagsterWebserver"]["enableReadOnly"]
    assert values["ingress"]["annotations"]["nginx.ingress.kubernetes.io/auth-url"]  # the way in has a login
    assert values["postgresql"]["enabled"] is False and not values["generatePostgresqlPasswordSecret"]
    text = (DEPLOY / "helm" / "values.yaml").read_text()
    assert not re.search(r"(?i)password\s*:\s*\S", text.replace("postgresql-password", ""))  # no secret inline


def _dockerfile() -> list[tuple[str, str]]:
    lines = (REPO / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    return [tuple(line.strip().split(" ", 1)) for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_the_dockerfile_builds_three_roles_as_a_non_root_user_with_no_secret_inside():
    instructions = _dockerfile()
    stages = [args.split(" AS ")[-1] for op, args in instructions if op == "FROM"]
    assert stages == ["base", "code-location", "webserver", "daemon"]
    base_image = next(args for op, args in instructions if op == "FROM").split(" ")[0]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base_image)  # pinned, the Python CI tests with
    user = [args for op, args in instructions if op == "USER"]
    assert user == ["elevra"]
    for op, args in instructions:
        if op == "COPY":
            for source in args.split()[:-1]:
                assert (REPO / source).exists(), source
        if op == "ENV":
            assert not any(secret in args for secret in SECRETS)
    commands = [args for op, args in instructions if op == "CMD"]
    assert MODULE in commands[0] and "dagster-webserver" in commands[1] and "dagster-daemon" in commands[2]
    for executable in ("dagster", "dagster-webserver", "dagster-daemon"):  # installed by the same pip install
        assert (Path(sys.executable).parent / executable).exists()


def test_the_code_location_has_one_name_everywhere():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]
    workspace = yaml.safe_load((REPO / "workspace.yaml").read_text())["load_from"][0]["python_module"]
    helm = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())["dagster-user-deployments"]["deployments"][0]
    names = {
        project["dagster"]["code_location_name"],
        project["dg"]["project"]["code_location_name"],
        workspace["location_name"],
        helm["name"],
        re.search(r'"--location-name", "([^"]+)"', (REPO / "Dockerfile").read_text()).group(1),
    }
    assert names == {"elevra-pipeline"}


def _snake_keys(value):
    if isinstance(value, dict):
        return {_snake(k) if k != "applyLimitPerUniqueValue" else k: _snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake_keys(v) for v in value]
    return value


def test_the_helm_values_carry_the_same_limits_as_the_instance_files():
    """Runs in progress, backfills in one slot, one run per upload, the gemini pool: in all three places."""
    helm = _snake_keys(yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())["concurrency"])
    for path in (DEPLOY / "k8s" / "dagster.yaml", DEPLOY / "dagster.postgres.yaml", REPO / "dagster.yaml"):
        assert yaml.safe_load(path.read_text())["concurrency"] == helm, path
    keys = [limit["key"] for limit in helm["runs"]["tag_concurrency_limits"]]
    assert keys == ["elevra/kind", "dagster/partition"] and helm["pools"]["default_limit"] == 4


def test_the_run_queue_launches_runs_side_by_side_everywhere():
    """Uploads that arrive together start together (docs/benchmarks.md: four uploads at once)."""
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())["dagsterDaemon"]["runCoordinator"]
    helm = _snake_keys(values["config"]["queuedRunCoordinator"])
    assert helm == {"dequeue_use_threads": True, "dequeue_num_workers": 4, "dequeue_interval_seconds": 2}
    for path in (DEPLOY / "k8s" / "dagster.yaml", DEPLOY / "dagster.postgres.yaml", REPO / "dagster.yaml"):
        coordinator = yaml.safe_load(path.read_text())["run_coordinator"]
        assert coordinator["class"] == values["type"] and coordinator["config"] == helm, path


def test_nothing_a_run_needs_later_stays_on_a_pods_disk():
    """Issue 28: runs' logs go to the same bucket settings in the instance file and the Helm values (the
    stored uploads and workbooks follow ELEVRA_STORAGE_URL: test_cluster_simulation)."""
    instance = yaml.safe_load((DEPLOY / "k8s" / "dagster.yaml").read_text())["compute_logs"]
    helm = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())["computeLogManager"]
    assert (instance["module"], instance["class"]) == ("dagster_aws.s3.compute_log_manager", "S3ComputeLogManager")
    assert helm["type"] == instance["class"]
    assert {_snake(k): v for k, v in helm["config"]["s3ComputeLogManager"].items()} == instance["config"]
    settings = (DEPLOY / "k8s" / "dagster.yaml").read_text() + (DEPLOY / "helm" / "values.yaml").read_text()
    assert "ELEVRA_STORAGE_URL" in settings and "DAGSTER_COMPUTE_LOG_BUCKET" in settings
