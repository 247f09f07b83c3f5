"""Small helpers shared by the deployment tests."""

from __future__ import annotations

from loadtests.servers import free_port

__all__ = ["exported_metric_names", "free_port"]


def exported_metric_names() -> set[str]:
    """Every series name the service can export (counters with _total, histograms with _bucket, ...)."""
    from service.metrics import Metrics

    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""]}
    return {
        family.name + suffix
        for family in Metrics().registry.collect()
        for suffix in suffixes.get(family.type, [""])
    }
