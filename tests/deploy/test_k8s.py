"""k8s/: the overlays render, every built-in manifest validates offline, CRDs are well formed, and the
pieces agree with each other, with the Dockerfile and with the service's settings and metrics."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as kv

from service.settings import Settings
from tests.deploy import dockerfile
from tests.deploy.helpers import exported_metric_names
from tests.deploy.kustomize import Manifest, load_documents, normalise, render

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = ["cpu", "gpu", "gpu-keda"]
# The oldest Kubernetes we target (matchLabelKeys in topology spreads needs 1.27+) and the newest
# kubernetes-validate ships schemas for.
K8S_VERSIONS = ["1.30.0", kv.latest_version()]
CRD_KINDS = {"ServiceMonitor", "ScaledObject"}
NAME = "safety-classifier"


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[Manifest]]:
    return request.param, render(K8S / "overlays" / request.param)


def by_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def one(manifests: list[Manifest], kind: str) -> Manifest:
    found = by_kind(manifests, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def container(manifests: list[Manifest]) -> dict[str, Any]:
    containers = one(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: dict[str, Any] = containers[0]
    return result


def env_of(manifests: list[Manifest]) -> dict[str, str]:
    """The container's literal env values (entries from Secrets are left out)."""
    return {e["name"]: e["value"] for e in container(manifests)["env"] if "value" in e}


# --- policies: one source of truth -----------------------------------------------------------------


def test_policy_copies_match_the_repo_policies() -> None:
    source = {p.name: p.read_bytes() for p in (ROOT / "policies").glob("*.y*ml")}
    copies = {p.name: p.read_bytes() for p in (K8S / "base" / "policies").glob("*.y*ml")}
    assert copies == source, "k8s/base/policies/ is stale: run scripts/sync_k8s_policies.sh"
    kustomization = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    (generator,) = kustomization["configMapGenerator"]
    assert sorted(Path(f).name for f in generator["files"]) == sorted(source)


# --- rendering and validation ----------------------------------------------------------------------


def test_overlay_renders_the_expected_objects(overlay: tuple[str, list[Manifest]]) -> None:
    name, manifests = overlay
    autoscaler = "ScaledObject" if name.endswith("keda") else "HorizontalPodAutoscaler"
    expected = {"ConfigMap", "Service", "Deployment", "PodDisruptionBudget", "ServiceMonitor", autoscaler}
    assert sorted(m["kind"] for m in manifests) == sorted(expected)
    # never both autoscalers: KEDA's own HPA would fight the plain one
    assert not ({"ScaledObject", "HorizontalPodAutoscaler"} <= {m["kind"] for m in manifests})


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_builtin_manifests_validate_strictly(overlay: tuple[str, list[Manifest]], version: str) -> None:
    _, manifests = overlay
    adapter = load_documents(K8S / "prometheus-adapter" / "adapter-rules.yaml")
    for manifest in manifests + adapter:
        if manifest["kind"] not in CRD_KINDS:
            kv.validate(manifest, version, strict=True)


def test_the_validator_is_strict() -> None:
    manifests = render(K8S / "overlays" / "cpu")
    deployment = copy.deepcopy(one(manifests, "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {}
    with pytest.raises(kv.ValidationError):
        kv.validate(deployment, K8S_VERSIONS[-1], strict=True)


def test_crds_are_well_formed(overlay: tuple[str, list[Manifest]]) -> None:
    """kubernetes-validate has no schemas for CRDs: check the fields the operators require by hand."""
    _, manifests = overlay
    service = one(manifests, "Service")
    monitor = one(manifests, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1" and monitor["metadata"]["name"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    port_names = {p["name"] for p in service["spec"]["ports"]}
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["port"] in port_names and endpoint["path"] == "/metrics"
        assert endpoint["interval"].endswith("s") and endpoint["scrapeTimeout"].endswith("s")
    for scaled in by_kind(manifests, "ScaledObject"):
        assert scaled["apiVersion"] == "keda.sh/v1alpha1" and scaled["metadata"]["name"]
        spec = scaled["spec"]
        assert spec["scaleTargetRef"]["name"] == NAME
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "prometheus"
        metadata = trigger["metadata"]
        assert all(isinstance(metadata[k], str) for k in ("serverAddress", "query", "threshold"))
        assert metadata["serverAddress"].startswith("http") and float(metadata["threshold"]) > 0
        assert "safety_queue_depth" in metadata["query"]
        assert trigger["metricType"] in ("AverageValue", "Value", "Utilization")


def _real_kustomize() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


@pytest.mark.skipif(_real_kustomize() is None, reason="neither kustomize nor kubectl is installed")
def test_the_tiny_renderer_agrees_with_real_kustomize(overlay: tuple[str, list[Manifest]]) -> None:
    name, manifests = overlay
    command = _real_kustomize()
    assert command is not None
    done = subprocess.run(
        [*command, str(K8S / "overlays" / name)], capture_output=True, text=True, timeout=30, check=True
    )
    real = [doc for doc in yaml.safe_load_all(done.stdout) if doc]

    def keyed(docs: list[Manifest]) -> dict[tuple[str, str], Any]:
        return {(d["kind"], d["metadata"]["name"]): normalise(d) for d in docs}

    assert keyed(manifests) == keyed(real)


# --- wiring: the pieces agree ----------------------------------------------------------------------


def test_selectors_and_references_agree(overlay: tuple[str, list[Manifest]]) -> None:
    _, manifests = overlay
    deployment = one(manifests, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert one(manifests, "Service")["spec"]["selector"].items() <= pod_labels.items()
    assert (
        one(manifests, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    )
    for spread in deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]:
        assert spread["labelSelector"]["matchLabels"].items() <= pod_labels.items()
    for hpa in by_kind(manifests, "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
        assert hpa["spec"]["minReplicas"] >= 2  # the PDB's maxUnavailable: 1 keeps one serving
    service_port = one(manifests, "Service")["spec"]["ports"][0]
    assert service_port["targetPort"] in {p["name"] for p in container(manifests)["ports"]}


def test_container_follows_the_image_and_settings(overlay: tuple[str, list[Manifest]]) -> None:
    _, manifests = overlay
    main = container(manifests)
    pod = one(manifests, "Deployment")["spec"]["template"]["spec"]
    env = env_of(manifests)
    # every SAFETY_* variable is a real setting, with a value the settings class accepts
    fields = {f"SAFETY_{name.upper()}" for name in Settings.model_fields}
    names = {e["name"] for e in main["env"]}
    assert names <= fields, f"unknown settings: {names - fields}"
    for secret in (e["valueFrom"]["secretKeyRef"] for e in main["env"] if "valueFrom" in e):
        assert secret["optional"] is True  # the pod starts without it
    Settings.model_validate({k.removeprefix("SAFETY_").lower(): v for k, v in env.items()})
    # the port and user the image declares
    runtime = dockerfile.last_stage()
    exposed = [i.arguments for i in dockerfile.instructions() if i.keyword == "EXPOSE" and i.stage == runtime]
    assert [str(p["containerPort"]) for p in main["ports"]] == exposed
    assert env["SAFETY_PORT"] == exposed[0]
    user = next(i.arguments for i in dockerfile.instructions() if i.keyword == "USER" and i.stage == runtime)
    uid = dockerfile.substitute(user, dockerfile.build_args()).split(":")[0]
    assert str(pod["securityContext"]["runAsUser"]) == uid and pod["securityContext"]["runAsNonRoot"]
    assert env["SAFETY_MODEL_DIR"] == dockerfile.env(runtime)["SAFETY_MODEL_DIR"]
    # read-only root filesystem with a writable /tmp (HOME points there)
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    assert main["securityContext"]["allowPrivilegeEscalation"] is False
    assert main["securityContext"]["capabilities"]["drop"] == ["ALL"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in main["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    assert dockerfile.env(runtime)["HOME"].startswith("/tmp")
    # the policy ConfigMap is mounted where the service reads policies
    policies = mounts[env["SAFETY_POLICIES_DIR"]]
    assert policies["readOnly"] and "subPath" not in policies  # subPath mounts never see updates
    config_map = volumes[policies["name"]]["configMap"]["name"]
    assert config_map in {m["metadata"]["name"] for m in by_kind(manifests, "ConfigMap")}
    # probes: ready after warm-up, alive while the process answers
    assert main["startupProbe"]["httpGet"]["path"] == "/readyz"
    assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert main["livenessProbe"]["httpGet"]["path"] == "/healthz"
    grace = float(env.get("SAFETY_SHUTDOWN_GRACE_S", Settings.model_fields["shutdown_grace_s"].default))
    assert pod["terminationGracePeriodSeconds"] > grace + 5  # + the preStop sleep
    # ONNX Runtime threads sized to the CPU limit, not to the node: on CPU one single-threaded run per core
    cpu = int(main["resources"]["limits"]["cpu"])
    intra = int(env["SAFETY_INTRA_OP_THREADS"])
    workers = int(env.get("SAFETY_INFERENCE_WORKERS", Settings.model_fields["inference_workers"].default))
    assert 1 <= intra <= cpu
    if env["SAFETY_DEVICE"] == "cpu":
        assert workers * intra == cpu
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(main["resources"][kind])


def test_gpu_overlays_ask_for_one_gpu_and_cpu_overlay_for_none(overlay: tuple[str, list[Manifest]]) -> None:
    name, manifests = overlay
    pod = one(manifests, "Deployment")["spec"]["template"]["spec"]
    limits = container(manifests)["resources"]["limits"]
    if name.startswith("gpu"):
        assert limits["nvidia.com/gpu"] == 1
        assert env_of(manifests)["SAFETY_DEVICE"] == "cuda"
        assert pod["nodeSelector"] and any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])
    else:
        assert "nvidia.com/gpu" not in limits and "tolerations" not in pod
        assert env_of(manifests)["SAFETY_DEVICE"] == "cpu"


def test_autoscaling_metric_is_served_by_the_adapter_and_exported_by_the_service() -> None:
    hpa = one(render(K8S / "overlays" / "gpu"), "HorizontalPodAutoscaler")
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Pods"
    name = metric["pods"]["metric"]["name"]
    (config_map,) = load_documents(K8S / "prometheus-adapter" / "adapter-rules.yaml")
    rules = yaml.safe_load(config_map["data"]["config.yaml"])["rules"]
    (rule,) = [r for r in rules if r["name"]["as"] == name]
    assert rule["seriesQuery"].startswith(name + "{")
    assert set(rule["resources"]["overrides"]) == {"namespace", "pod"}
    assert "<<.Series>>" in rule["metricsQuery"] and "<<.GroupBy>>" in rule["metricsQuery"]
    assert name in exported_metric_names()
