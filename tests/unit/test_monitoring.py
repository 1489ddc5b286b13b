"""The Grafana dashboard and the alerting rules in monitoring/ query only metrics hpa exposes,
select hpa's job, and have the shape Grafana and the Prometheus Operator read."""

import json
import pathlib
import re
from collections.abc import Iterator
from typing import Any, Final

import pytest
import yaml

import hpa.controllers
import hpa.kube
import hpa.webhook
from hpa import api, manifests, observability
from tests.unit import promql

ROOT: Final = pathlib.Path(__file__).resolve().parents[2]
DASHBOARD: Final = ROOT / "monitoring" / "grafana" / "hpa.json"
ALERTS: Final = ROOT / "monitoring" / "alerts.yaml"
SERVICE_MONITOR: Final = ROOT / "monitoring" / "servicemonitor.yaml"
DOCS: Final = ROOT / "docs" / "monitoring.md"

# The modules that declare hpa's metrics, imported so that all are in the registry.
_DECLARING: Final = (hpa.controllers, hpa.kube, hpa.webhook)


@pytest.fixture(scope="module")
def exposed() -> set[str]:
    """Every sample name hpa's registry exposes."""
    assert _DECLARING
    return promql.exposed_names(observability.REGISTRY.collect())


def _dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _dashboard_exprs() -> list[str]:
    return [
        target["expr"]
        for panel in _panels(_dashboard()["panels"])
        for target in panel.get("targets", [])
    ]


def _variable_queries() -> list[str]:
    queries = []
    for variable in _dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            queries.append(query["query"] if isinstance(query, dict) else query)
    return queries


def _rules() -> list[dict[str, Any]]:
    rule = yaml.safe_load(ALERTS.read_text())
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


# --- the extractor, on expressions that must pass and fail ---------------------------------


def test_extractor_finds_metrics_not_functions_keywords_or_labels() -> None:
    """Functions, aggregations, grouping labels, matchers and durations are no metric names."""
    expr = (
        'histogram_quantile(0.99, sum by (le, webhook) (rate(a_bucket{job=~"$job", '
        'code!="200"}[$__rate_interval]))) / on (instance) group_left (pod) '
        'max without (le) (b offset 5m) and c{__name__!="x"} or vector(0) > bool 1'
    )
    found = promql.selectors(expr)
    assert [s.name for s in found] == ["a_bucket", "b", "c"]
    assert found[0].matcher("job") == ("=~", "$job")
    assert found[0].matcher("code") == ("!=", "200")
    assert promql.selectors('{__name__="d", job="hpa"}')[0].name == "d"
    assert promql.variable_selectors('label_values(e_total{job="x"}, job)')[0].name == "e_total"


@pytest.mark.parametrize(
    ("expr", "unknown"),
    [
        pytest.param(
            "sum(rate(hpa_no_such_metric_total[5m]))", "hpa_no_such_metric_total", id="new"
        ),
        pytest.param("rate(hpa_allocations[5m])", "hpa_allocations", id="counter-without-total"),
        pytest.param("hpa_ports_total", "hpa_ports_total", id="gauge-with-total"),
        pytest.param(
            "histogram_quantile(0.9, rate(hpa_reconcile_duration_seconds[5m]))",
            "hpa_reconcile_duration_seconds",
            id="histogram-without-bucket",
        ),
        pytest.param(
            'sum by (le) (rate(workqueue_depth_bucket{name="claim"}[5m]))',
            "workqueue_depth_bucket",
            id="gauge-as-histogram",
        ),
    ],
)
def test_an_unknown_metric_is_reported(expr: str, unknown: str, exposed: set[str]) -> None:
    """A query naming a metric hpa does not expose is caught, also by a wrong suffix."""
    assert list(promql.unknown_metrics([expr], exposed)) == [(expr, unknown)]


@pytest.mark.parametrize(
    "expr",
    [
        pytest.param("sum(rate(hpa_allocations_total[5m])", id="unbalanced"),
        pytest.param("rat(hpa_allocations_total[5m])", id="unknown-function"),
        pytest.param("hpa_ports{job=$job}", id="unquoted-value"),
        pytest.param("hpa_ports * $scale", id="variable-outside-a-string"),
        pytest.param("sum hpa_ports", id="aggregation-without-argument"),
    ],
)
def test_a_malformed_expression_is_refused(expr: str) -> None:
    """The extractor refuses what it cannot read rather than guess at its metrics."""
    with pytest.raises(ValueError):
        promql.selectors(expr)


def test_the_registry_names_follow_their_types(exposed: set[str]) -> None:
    """Suffixes are derived from each family's type, series or not yet."""
    assert {"hpa_allocations_total", "controller_runtime_reconcile_total"} <= exposed
    assert "controller_runtime_webhook_latency_seconds_bucket" in exposed
    assert {"workqueue_depth", "hpa_claims", "leader_election_master_status"} <= exposed
    assert "hpa_allocations" not in exposed


# --- the dashboard --------------------------------------------------------------------------


def test_dashboard_queries_only_exposed_metrics(exposed: set[str]) -> None:
    """Every panel query and variable query names metrics hpa exposes."""
    exprs = _dashboard_exprs()
    assert len(exprs) >= 10
    assert list(promql.unknown_metrics(exprs, exposed)) == []
    for query in _variable_queries():
        for selector in promql.variable_selectors(query):
            assert selector.name in exposed, query


def test_dashboard_queries_select_the_job_variable() -> None:
    """Every selector is scoped to $job: controller_runtime_* and workqueue_* are shared with
    every other controller-runtime operator Prometheus scrapes."""
    for expr in _dashboard_exprs():
        for selector in promql.selectors(expr):
            assert selector.matcher("job") == ("=~", "$job"), (selector.name, expr)


def test_dashboard_is_a_grafana_model_with_a_prometheus_datasource_variable() -> None:
    """Unique panel ids, a grid position each, and every query on the chosen data source."""
    dashboard = _dashboard()
    assert dashboard["title"] and dashboard["uid"] and dashboard["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["job"]["datasource"]["uid"] == "${datasource}"
    panels = list(_panels(dashboard["panels"]))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)) and refs, panel["title"]


def test_dashboard_has_the_panels_operators_look_for() -> None:
    """Pool utilisation, Pending claims, admission latency, reconcile errors, queue depth and
    the leader each have a panel."""
    used = {s.name for expr in _dashboard_exprs() for s in promql.selectors(expr)}
    assert {
        "hpa_ports",
        "hpa_claims",
        "controller_runtime_webhook_latency_seconds_bucket",
        "controller_runtime_reconcile_errors_total",
        "workqueue_depth",
        "leader_election_master_status",
    } <= used


# --- the alerts -----------------------------------------------------------------------------

_DURATION: Final = re.compile(r"^(\d+(ms|[smhdwy]))+$")


def test_alerts_are_a_prometheus_rule() -> None:
    """A monitoring.coreos.com/v1 PrometheusRule with named groups of alerting rules."""
    rule = yaml.safe_load(ALERTS.read_text())
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["kind"] == "PrometheusRule"
    assert rule["metadata"]["name"] and rule["metadata"]["namespace"]
    assert set(rule) == {"apiVersion", "kind", "metadata", "spec"}
    assert set(rule["spec"]) == {"groups"}
    groups = rule["spec"]["groups"]
    assert len({g["name"] for g in groups}) == len(groups) > 0
    for group in groups:
        assert set(group) <= {"name", "interval", "rules", "limit", "partial_response_strategy"}
        assert group["rules"]
    names = [r["alert"] for r in _rules()]
    assert len(names) == len(set(names))


def test_each_alert_has_severity_summary_description_and_a_runbook() -> None:
    """Each alert says how bad it is, what fired and what it means, and names its runbook
    section, which docs/monitoring.md has."""
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in DOCS.read_text().splitlines()
        if line.startswith("#")
    }
    for rule in _rules():
        assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
        assert isinstance(rule["expr"], str) and rule["expr"].strip()
        assert _DURATION.match(rule.get("for", "0s")), rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), rule["alert"]
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"], rule["alert"]
        page, _, anchor = annotations["runbook"].partition("#")
        assert page == "docs/monitoring.md" and anchor == rule["alert"].lower()
        assert anchor in anchors, f"docs/monitoring.md has no section {rule['alert']}"


def test_alerts_query_only_exposed_metrics_of_hpas_job(exposed: set[str]) -> None:
    """Every alert expression names metrics hpa exposes, selected by job="hpa"."""
    exprs = [rule["expr"] for rule in _rules()]
    assert list(promql.unknown_metrics(exprs, exposed)) == []
    for expr in exprs:
        for selector in promql.selectors(expr):
            assert selector.matcher("job") == ("=", "hpa"), (selector.name, expr)


def test_service_monitor_scrapes_hpas_service_as_the_alerts_job() -> None:
    """The ServiceMonitor selects the Service hpa installs, scrapes its metrics port, and names
    the job after a label whose value is the job the alerts select."""
    monitor = yaml.safe_load(SERVICE_MONITOR.read_text())
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["kind"] == "ServiceMonitor"
    [service] = [
        doc
        for doc in manifests.install_documents()
        if doc["kind"] == "Service" and doc["metadata"]["name"] == api.WEBHOOK_SERVICE
    ]
    labels = service["metadata"]["labels"]
    spec = monitor["spec"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    assert labels[spec["jobLabel"]] == "hpa"
    assert [endpoint["port"] for endpoint in spec["endpoints"]] == ["metrics"]
    assert "metrics" in [port["name"] for port in service["spec"]["ports"]]
    rule = yaml.safe_load(ALERTS.read_text())
    namespaces = {monitor["metadata"]["namespace"], rule["metadata"]["namespace"]}
    assert namespaces == {api.DEFAULT_NAMESPACE}
