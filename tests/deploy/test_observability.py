"""The Grafana dashboard and the Prometheus config: well formed, only real metric names, and a real Prometheus
scraping a real server on loopback answers the dashboard's, the alert rules' and the autoscalers' queries."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from PIL import Image

from loadtests.servers import stop_process
from service.api.app import create_app
from service.settings import Settings
from tests.deploy.helpers import exported_metric_names, free_port
from tests.deploy.kustomize import load_documents, render
from tests.service.live import serve

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboard.json"
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
METRIC = re.compile(r"\bsafety_[a-z_]+\b")
# What Grafana substitutes before a query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$job": ".*", "$policy": ".*"}
POD_LABELS = {"namespace": "test", "pod": "safety-classifier-0", "service": "safety-classifier"}


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def panel_exprs() -> list[str]:
    return [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]


def grafana_expand(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def alert_exprs() -> list[str]:
    rules = yaml.safe_load((PROMETHEUS_DIR / "rules.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


# --- static checks ---------------------------------------------------------------------------------


def test_every_alert_names_its_section_of_the_runbook() -> None:
    """The on-call engineer follows `runbook` from the alert to what to do; a renamed heading breaks it."""
    doc = ROOT / "docs" / "operations.md"
    headings = re.findall(r"^## (.+)$", doc.read_text(), flags=re.MULTILINE)
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}
    rules = yaml.safe_load((PROMETHEUS_DIR / "rules.yml").read_text())
    for rule in (r for group in rules["groups"] for r in group["rules"]):
        path, _, section = rule["annotations"]["runbook"].partition("#")
        assert path == "docs/operations.md" and section in anchors, rule["alert"]
        assert section.startswith(rule["alert"].lower()), rule["alert"]


def test_dashboard_is_well_formed() -> None:
    board = dashboard()
    assert board["uid"] and board["title"] and board["schemaVersion"] >= 36
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in board["templating"]["list"]}
    assert {"datasource", "job", "policy"} <= variables
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24 and grid["h"] > 0
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids))
        for target in panel["targets"]:
            used = set(re.findall(r"\$\w+", target["expr"]))
            assert used <= set(GRAFANA_VARIABLES), f"unknown variables {used} in {panel['title']}"


def test_dashboard_and_alerts_use_only_exported_metrics() -> None:
    exported = exported_metric_names()
    exprs = panel_exprs() + alert_exprs()
    exprs += [v["definition"] for v in dashboard()["templating"]["list"] if "definition" in v]
    used = {name for expr in exprs for name in METRIC.findall(expr)}
    assert used <= exported, f"not exported by service/metrics.py: {sorted(used - exported)}"


def test_dashboard_covers_what_on_call_needs() -> None:
    exprs = " ".join(panel_exprs())
    for needed in (
        "safety_requests_total",  # throughput
        "histogram_quantile(0.99, sum by (le) (rate(safety_request_seconds_bucket",  # latency percentiles
        "safety_batch_size_bucket",  # batch size
        "safety_queue_depth",  # the autoscaling signal
        "sum by (category, action) (rate(safety_flagged_total",  # actions by category
        "safety_emergent_total",  # emergent rate
    ):
        assert needed in exprs, needed


def _promtool() -> str | None:
    return shutil.which("promtool")


@pytest.mark.skipif(_promtool() is None, reason="promtool is not installed (apt-get install prometheus)")
def test_promtool_accepts_config_and_rules() -> None:
    promtool = _promtool()
    assert promtool is not None
    checks = (
        ["check", "config", "prometheus.yml"],
        ["check", "rules", "rules.yml"],
        ["test", "rules", "rules_test.yml"],  # the alerts fire (and stay quiet) where on-call needs them
    )
    for args in checks:
        done = subprocess.run(
            [promtool, *args], cwd=PROMETHEUS_DIR, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stdout + done.stderr


# --- a real Prometheus -----------------------------------------------------------------------------


def _jpeg(grey: int) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (grey, grey, grey)).save(buffer, format="JPEG")
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture(scope="module")
def service_url(test_bundle: Path) -> Iterator[str]:
    settings = Settings(
        model_dir=test_bundle, policies_dir=ROOT / "policies", intra_op_threads=1, max_batch_size=8
    )
    with serve(create_app(settings)) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            for i in range(6):
                body = {"text": "how much could i get for this one ?", "image": _jpeg(40 * i)}
                assert client.post("/v1/classify", json=body).status_code == 200
            items = [
                {"text": "war history"},
                {"image": _jpeg(128)},
                {"text": "medicine", "image": _jpeg(128)},
            ]
            assert client.post("/v1/classify/batch", json={"items": items}).status_code == 200
        yield url


@pytest.fixture(scope="module")
def prometheus_url(service_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus is not installed (apt-get install -y prometheus)")
    work = tmp_path_factory.mktemp("prometheus")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(PROMETHEUS_DIR / "rules.yml")],
        "scrape_configs": [
            {
                "job_name": "safety-classifier",
                # the labels the ServiceMonitor's scrape adds on Kubernetes, for the autoscaler queries
                "static_configs": [{"targets": [service_url.removeprefix("http://")], "labels": POD_LABELS}],
            }
        ],
    }
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    with (work / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={work / 'prometheus.yml'}",
                f"--storage.tsdb.path={work / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: _ready(url), "Prometheus to start", process, work)
        yield url
    finally:
        stop_process(process)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _until(
    check: Any, what: str, process: subprocess.Popen[bytes] | None = None, work: Path | None = None
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            log = (work / "prometheus.log").read_text() if work else ""
            raise AssertionError(f"prometheus exited with {process.returncode}:\n{log[-2000:]}")
        if check():
            return
        time.sleep(0.25)
    raise TimeoutError(f"timed out waiting for {what}")


def query(prometheus_url: str, expr: str) -> list[dict[str, Any]]:
    """Run an instant query; fail on a PromQL error; return the result vector."""
    response = httpx.get(f"{prometheus_url}/api/v1/query", params={"query": expr}, timeout=10)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", f"{expr}: {body}"
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


@pytest.mark.timeout(60)
@pytest.mark.slow
def test_prometheus_scrapes_the_batch_size_histogram(prometheus_url: str, service_url: str) -> None:
    served = httpx.get(f"{service_url}/metrics").text
    (line,) = [line for line in served.splitlines() if line.startswith("safety_batch_size_count")]
    batches = float(line.split()[-1])
    assert batches > 0

    def scraped() -> bool:
        return bool(query(prometheus_url, "sum(safety_batch_size_count)"))

    _until(scraped, "the first scrape")
    (sample,) = query(prometheus_url, 'safety_batch_size_count{job="safety-classifier"}')
    assert float(sample["value"][1]) == batches  # no traffic since: the same count
    assert sample["metric"]["pod"] == POD_LABELS["pod"]
    buckets = query(prometheus_url, "sum by (le) (safety_batch_size_bucket)")
    assert {float(b["metric"]["le"]) for b in buckets} >= {1.0, 8.0, float("inf")}
    # batch-size percentiles come back through PromQL (over all batches so far; the dashboard uses rates)
    (median,) = query(prometheus_url, "histogram_quantile(0.5, sum by (le) (safety_batch_size_bucket))")
    assert 0 < float(median["value"][1]) <= 8  # max_batch_size (interpolated inside a bucket)


@pytest.mark.timeout(60)
@pytest.mark.slow
def test_every_dashboard_query_runs(prometheus_url: str) -> None:
    _until(lambda: bool(query(prometheus_url, "safety_ready")), "the first scrape")
    for expr in panel_exprs():
        query(prometheus_url, grafana_expand(expr))
    (ready,) = query(prometheus_url, grafana_expand('sum(safety_ready{job=~"$job"})'))
    assert float(ready["value"][1]) == 1


@pytest.mark.timeout(60)
@pytest.mark.slow
def test_autoscaler_queries_return_the_queue_depth(prometheus_url: str) -> None:
    _until(lambda: bool(query(prometheus_url, "safety_queue_depth")), "the first scrape")
    # prometheus-adapter: the rule's metricsQuery as the adapter expands it for the HPA's Pods metric
    (config_map,) = load_documents(ROOT / "k8s" / "prometheus-adapter" / "adapter-rules.yaml")
    (rule,) = yaml.safe_load(config_map["data"]["config.yaml"])["rules"]
    series = rule["seriesQuery"].split("{")[0]
    matchers = f'namespace="{POD_LABELS["namespace"]}",pod=~"{POD_LABELS["pod"]}"'
    adapter_query = (
        rule["metricsQuery"]
        .replace("<<.Series>>", series)
        .replace("<<.LabelMatchers>>", matchers)
        .replace("<<.GroupBy>>", "pod")
    )
    (per_pod,) = query(prometheus_url, adapter_query)
    assert per_pod["metric"] == {"pod": POD_LABELS["pod"]} and float(per_pod["value"][1]) >= 0
    # KEDA: the ScaledObject's query
    (scaled,) = [m for m in render(ROOT / "k8s" / "overlays" / "gpu-keda") if m["kind"] == "ScaledObject"]
    (total,) = query(prometheus_url, scaled["spec"]["triggers"][0]["metadata"]["query"])
    assert float(total["value"][1]) >= 0


@pytest.mark.timeout(60)
@pytest.mark.slow
def test_alert_rules_load_and_evaluate(prometheus_url: str) -> None:
    def evaluated() -> list[dict[str, Any]]:
        groups = httpx.get(f"{prometheus_url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        rules: list[dict[str, Any]] = [r for g in groups for r in g["rules"]]
        return rules if rules and all(r["health"] != "unknown" for r in rules) else []

    _until(lambda: bool(evaluated()), "the alert rules to be evaluated")
    rules = evaluated()
    assert len(rules) == len(alert_exprs())
    assert all(r["health"] == "ok" for r in rules), [(r["name"], r.get("lastError")) for r in rules]
