"""The metric names a scrape exposes, and the ones docs/monitoring's dashboard and alerts use."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

MONITORING = Path(__file__).resolve().parents[1] / "docs" / "monitoring"
DASHBOARD = MONITORING / "grafana-dashboard.json"
ALERTS = MONITORING / "prometheus-alerts.yml"

_NAME = re.compile(r"\bambientgen_[a-z0-9_]+")
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def exposed_names(text: str) -> set[str]:
    """Every series name ``text`` (Prometheus text format) offers a query, with or without samples
    yet (a labelled counter nothing has incremented still has its ``_total``)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def alert_rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in data["groups"] for rule in group["rules"]]


def names_used() -> dict[str, set[str]]:
    """Each expression of the dashboard and the alert rules → the ``ambientgen_*`` names in it."""
    expressions = dashboard_expressions() + [rule["expr"] for rule in alert_rules()]
    return {expr: set(_NAME.findall(expr)) for expr in expressions}


def unknown_names(exposed: set[str]) -> dict[str, set[str]]:
    """Expressions naming a metric that is not in ``exposed`` (empty: all is well)."""
    return {expr: used - exposed for expr, used in names_used().items() if used - exposed}
