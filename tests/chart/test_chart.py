"""The Helm chart renders what ``hpa manifests`` prints: with no value set, and with each value
that has an ``hpa manifests`` flag set like the flag. The rest of its values change only what
they name; ``helm lint`` finds nothing to say."""

import json
import pathlib
import tomllib
from typing import Any

import kubernetes_validate
import pytest
import yaml

from hpa import cli, manifests
from hpa.cli import _main
from tests.chart.helm import CHART, Helm, documents
from tests.unit.manifests.test_install import _kustomize, needs_kubectl

Document = dict[str, Any]

#: Each flag of `hpa manifests` (but --write) and the chart's values that say the same.
FLAGS_AND_VALUES: list[tuple[str, list[str], Document]] = [
    ("defaults", [], {}),
    ("namespace", ["--namespace", "ports"], {"namespace": {"name": "ports"}}),
    (
        "image",
        ["--image", "registry.example.com/hpa:1.2"],
        {"image": {"repository": "registry.example.com/hpa", "tag": "1.2"}},
    ),
    ("replicas", ["--replicas", "3"], {"replicaCount": 3}),
    (
        "namespace-label",
        ["--namespace-label", "team.example.com/ports=yes"],
        {"namespaceLabel": {"key": "team.example.com/ports", "value": "yes"}},
    ),
    ("lease-name", ["--lease-name", "elsewhere"], {"leaseName": "elsewhere"}),
    ("allow-host-network", ["--allow-host-network"], {"allowHostNetwork": True}),
    (
        "webhook-url",
        ["--webhook-url", "https://127.0.0.1:9443/"],
        {"webhook": {"url": "https://127.0.0.1:9443/"}},
    ),
]


def _key(document: Document) -> tuple[str, str, str]:
    meta = document["metadata"]
    return document["kind"], meta.get("namespace", ""), meta["name"]


def _by_key(documents: list[Document]) -> dict[tuple[str, str, str], Document]:
    keyed = {_key(d): d for d in documents}
    assert len(keyed) == len(documents), "an object is rendered twice"
    return keyed


def _render(helm: Helm, tmp_path: pathlib.Path, values: Document, *args: str) -> list[Document]:
    """``helm template`` with ``values`` as a values file (so YAML, not --set, types them)."""
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return helm.template("-f", str(path), *args)


def _hpa_manifests(capsys: pytest.CaptureFixture[str], *flags: str) -> list[Document]:
    assert cli.main(["manifests", *flags]) == 0
    return documents(capsys.readouterr().out)


def _merged(*values: Document) -> Document:
    merged: Document = {}
    for value in values:
        for key, item in value.items():
            if isinstance(item, dict):
                merged[key] = {**merged.get(key, {}), **item}
            else:
                merged[key] = item
    return merged


def _deployment(documents: list[Document]) -> Document:
    (deployment,) = (d for d in documents if d["kind"] == "Deployment")
    return deployment


def _mismatches(rendered: list[Document], expected: list[Document]) -> list[str]:
    """What differs, object by object: missing, extra, or unequal (as a JSON diff hint)."""
    got, want = _by_key(rendered), _by_key(expected)
    problems = [f"missing {k}" for k in sorted(want.keys() - got.keys())]
    problems += [f"extra {k}" for k in sorted(got.keys() - want.keys())]
    for key in sorted(want.keys() & got.keys()):
        if got[key] != want[key]:
            problems.append(
                f"{key} differs:\n chart {json.dumps(got[key], sort_keys=True)[:2000]}\n"
                f" hpa   {json.dumps(want[key], sort_keys=True)[:2000]}"
            )
    return problems


@pytest.mark.parametrize(
    ("flags", "values"),
    [pytest.param(*case[1:], id=case[0]) for case in FLAGS_AND_VALUES]
    + [
        pytest.param(
            [flag for case in FLAGS_AND_VALUES for flag in case[1]],
            _merged(*(case[2] for case in FLAGS_AND_VALUES)),
            id="all-together",
        )
    ],
)
def test_chart_renders_what_hpa_manifests_prints(
    helm: Helm,
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    values: Document,
) -> None:
    """Object by object, nothing more: no label of Helm's own, no caBundle, no Secret."""
    expected = _hpa_manifests(capsys, *flags)
    assert _mismatches(_render(helm, tmp_path, values), expected) == []


def test_every_hpa_manifests_flag_has_its_value() -> None:
    """A new flag of `hpa manifests` needs its value in the chart (and a row above)."""
    commands = next(
        a for a in _main._parser()._actions if a.dest == "command" and a.choices is not None
    )
    assert commands.choices is not None
    parser = commands.choices["manifests"]
    flags = {
        option
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and option not in {"--help", "--write"}
    }
    assert flags == {f for case in FLAGS_AND_VALUES for f in case[1] if f.startswith("--")}


def test_lint_is_clean(helm: Helm) -> None:
    """`helm lint --strict` passes, with neither a warning nor an error (its one INFO asks for
    an icon, which hpa has none of)."""
    linted = helm.run("lint", "--strict", str(CHART), check=False)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    said = [line for line in linted.stdout.splitlines() if line.startswith("[")]
    assert [line for line in said if not line.startswith("[INFO]")] == []


def test_generated_files_are_current() -> None:
    """charts/hpa/files/ holds exactly what `python -m hpa.manifests --chart charts/hpa`
    writes."""
    generated = manifests.chart_files()
    on_disk = {
        str(path.relative_to(CHART)): path.read_text()
        for path in (CHART / "files").rglob("*")
        if path.is_file()
    }
    stale = sorted(set(generated.items()) ^ set(on_disk.items()))
    assert not stale, "run `python -m hpa.manifests --chart charts/hpa`"


def test_chart_is_versioned_with_hpa(repo_root: pathlib.Path) -> None:
    """The chart's version and appVersion are the package's: the default image tag is hpa's."""
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    assert chart["version"] == chart["appVersion"] == project["version"]
    assert f"hpa:{project['version']}" == manifests.DEFAULT_IMAGE


def test_release_namespace_is_not_created_again(helm: Helm, tmp_path: pathlib.Path) -> None:
    """Helm needs the release's namespace before it installs anything: hpa's namespace is
    rendered only when it is another one, and not with namespace.create=false."""
    defaults = _by_key(helm.template())
    assert ("Namespace", "", "hpa-system") in defaults
    for args in (["--namespace", "hpa-system"], ["--set", "namespace.create=false"]):
        rendered = _by_key(helm.template(*args))
        assert ("Namespace", "", "hpa-system") not in rendered
        assert rendered.keys() == defaults.keys() - {("Namespace", "", "hpa-system")}


@needs_kubectl
def test_cert_manager_is_the_kustomize_overlay(
    helm: Helm, tmp_path: pathlib.Path, repo_root: pathlib.Path
) -> None:
    """certificates.provider=cert-manager renders what manifests/overlays/cert-manager builds."""
    rendered = _render(helm, tmp_path, {"certificates": {"provider": "cert-manager"}})
    overlay = _kustomize(repo_root / "manifests/overlays/cert-manager")
    assert _mismatches(rendered, overlay) == []


def test_cert_manager_takes_an_issuer(helm: Helm, tmp_path: pathlib.Path) -> None:
    """Given an issuer, the chart makes no self-signed Issuer and the Certificate names it."""
    issuer = {"kind": "ClusterIssuer", "name": "company-ca", "group": "cert-manager.io"}
    certificates = {"provider": "cert-manager", "certManager": {"issuerRef": issuer}}
    rendered = _by_key(_render(helm, tmp_path, {"certificates": certificates}))
    assert ("Issuer", "hpa-system", "hpa-selfsigned") not in rendered
    assert rendered[("Certificate", "hpa-system", "hpa-webhook")]["spec"]["issuerRef"] == issuer


def test_an_unknown_certificate_provider_is_refused(helm: Helm, tmp_path: pathlib.Path) -> None:
    refused = _render_refused(helm, tmp_path, {"certificates": {"provider": "acme"}})
    assert "/certificates/provider" in refused


@needs_kubectl
def test_service_monitor_is_the_kustomize_overlays(
    helm: Helm, tmp_path: pathlib.Path, repo_root: pathlib.Path
) -> None:
    """serviceMonitor.enabled adds the ServiceMonitor of manifests/overlays/service-monitor
    (monitoring/servicemonitor.yaml's, tests/unit/manifests)."""
    rendered = _render(helm, tmp_path, {"serviceMonitor": {"enabled": True}})
    overlay = _kustomize(repo_root / "manifests/overlays/service-monitor")
    assert _mismatches(rendered, overlay) == []


def test_service_monitor_takes_labels_and_interval(helm: Helm, tmp_path: pathlib.Path) -> None:
    values = {"serviceMonitor": {"enabled": True, "interval": "1m", "labels": {"release": "kps"}}}
    rendered = _by_key(_render(helm, tmp_path, values))
    monitor = rendered[("ServiceMonitor", "hpa-system", "hpa")]
    assert monitor["metadata"]["labels"]["release"] == "kps"
    assert monitor["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "1m"}
    ]


def test_admission_policies_can_be_left_out(helm: Helm, tmp_path: pathlib.Path) -> None:
    """admissionPolicies.enabled=false leaves out both policies and their bindings only."""
    without = _render(helm, tmp_path, {"admissionPolicies": {"enabled": False}})
    expected = [
        d
        for d in manifests.install_documents()
        if not d["kind"].startswith("ValidatingAdmissionPolicy")
    ]
    assert _mismatches(without, expected) == []


def test_crds_are_templates_kept_on_request(helm: Helm, tmp_path: pathlib.Path) -> None:
    """The CRDs are templates (helm upgrade updates them, uninstall deletes them); crds.keep
    annotates them for Helm to leave them, crds.install=false leaves them out."""
    crds = [d for d in helm.template() if d["kind"] == "CustomResourceDefinition"]
    assert [d["metadata"].get("annotations") for d in crds] == [None, None, None]
    kept = _render(helm, tmp_path, {"crds": {"keep": True}})
    annotations = [
        d["metadata"]["annotations"] for d in kept if d["kind"] == "CustomResourceDefinition"
    ]
    assert annotations == [{"helm.sh/resource-policy": "keep"}] * 3
    left_out = _render(helm, tmp_path, {"crds": {"install": False}})
    assert _by_key(left_out).keys() == _by_key(helm.template()).keys() - {_key(d) for d in crds}


def test_failure_policy_is_the_pod_validation_webhooks(helm: Helm, tmp_path: pathlib.Path) -> None:
    """webhook.failurePolicy sets validate-pods' only; the others fail open by design."""
    rendered = _render(helm, tmp_path, {"webhook": {"failurePolicy": "Ignore"}})
    policies = {
        hook["name"]: hook["failurePolicy"]
        for d in rendered
        if d["kind"].endswith("WebhookConfiguration")
        for hook in d["webhooks"]
    }
    assert policies == {
        "mutate-pods.hostport.rmb938.com": "Ignore",
        "validate-pods.hostport.rmb938.com": "Ignore",
        "validate-resources.hostport.rmb938.com": "Ignore",
    }
    refused = _render_refused(helm, tmp_path, {"webhook": {"failurePolicy": "Sometimes"}})
    assert "failurePolicy" in refused


def _render_refused(helm: Helm, tmp_path: pathlib.Path, values: Document) -> str:
    path = tmp_path / "refused.yaml"
    path.write_text(yaml.safe_dump(values))
    refused = helm.run("template", "hpa", str(CHART), "-f", str(path), check=False)
    assert refused.returncode != 0, f"{values} was accepted"
    return refused.stderr


def test_pod_values_reach_the_deployment(helm: Helm, tmp_path: pathlib.Path) -> None:
    """Scheduling, resources, pull settings, annotations and extra environment reach the pod,
    which stays a valid Deployment."""
    values = {
        "image": {"pullPolicy": "Always"},
        "imagePullSecrets": [{"name": "registry"}],
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"cpu": "2", "memory": "2Gi"},
        },
        "priorityClassName": "",
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "infra"}],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "infra", "operator": "Exists"}]}
                    ]
                }
            }
        },
        "topologySpreadConstraints": [],
        "podAnnotations": {"example.com/team": "platform"},
        "extraEnv": [{"name": "HPA_LOG_LEVEL", "value": "debug"}],
    }
    deployment = _deployment(_render(helm, tmp_path, values))
    kubernetes_validate.validate(deployment, kubernetes_validate.latest_version(), strict=True)
    template = deployment["spec"]["template"]
    pod = template["spec"]
    (container,) = pod["containers"]
    assert container["imagePullPolicy"] == "Always"
    assert pod["imagePullSecrets"] == values["imagePullSecrets"]
    assert container["resources"] == values["resources"]
    assert "priorityClassName" not in pod and "topologySpreadConstraints" not in pod
    for field in ("nodeSelector", "tolerations", "affinity"):
        assert pod[field] == values[field]
    assert template["metadata"]["annotations"] == values["podAnnotations"]
    assert container["env"][-1] == {"name": "HPA_LOG_LEVEL", "value": "debug"}


def test_common_labels_reach_every_object_but_not_selectors(
    helm: Helm, tmp_path: pathlib.Path
) -> None:
    values = {
        "commonLabels": {"example.com/team": "platform"},
        "certificates": {"provider": "cert-manager"},
        "serviceMonitor": {"enabled": True},
    }
    rendered = _render(helm, tmp_path, values)
    for document in rendered:
        assert document["metadata"]["labels"]["example.com/team"] == "platform", _key(document)
    deployment = _deployment(rendered)
    assert deployment["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": "hpa"}}
    assert deployment["spec"]["template"]["metadata"]["labels"]["example.com/team"] == "platform"


def test_every_value_is_documented(repo_root: pathlib.Path) -> None:
    """docs/helm.md has a row for each value of values.yaml (by its dotted name)."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    page = (repo_root / "docs" / "helm.md").read_text()
    missing = [name for name in _leaves(values) if f"`{name}`" not in page]
    assert missing == []


def _leaves(values: Document, prefix: str = "") -> list[str]:
    """The dotted names of the values: a map with keys of its own is walked into."""
    names = []
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and key not in {"resources"}:
            names += _leaves(value, f"{name}.")
        else:
            names.append(name)
    return names
