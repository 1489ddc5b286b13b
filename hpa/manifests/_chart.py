"""The generated part of the Helm chart in charts/hpa: what hpa's code spells out and no value
changes, as files the hand-written templates read with ``.Files.Get``.

- ``files/crds/<plural>.yaml``: the CRDs, from the types in :mod:`hpa.api`;
- ``files/policies/<name>.yaml``: the ValidatingAdmissionPolicies (their bindings select the
  managed namespaces, so they are templates);
- ``files/pod-match-conditions.yaml``: the CEL conditions of the pod webhooks.

Everything else the templates write by hand. tests/chart/test_chart.py renders the
chart with ``helm template`` and compares it, object by object, with :func:`install_documents`
for the values that have an ``hpa manifests`` flag, so the install has one source: this package.
Write the files with ``python -m hpa.manifests --chart charts/hpa``.
"""

from typing import Final

from hpa.manifests import _install
from hpa.manifests._kustomize import render_yaml

_HEADER: Final = "# Generated from hpa's code by `python -m hpa.manifests --chart charts/hpa`.\n"


def chart_files() -> dict[str, str]:
    """Relative path under the chart's directory → text."""
    documents = _install.install_documents()
    files: dict[str, str] = {}
    for document in documents:
        name = document["metadata"]["name"]
        if document["kind"] == "CustomResourceDefinition":
            files[f"files/crds/{document['spec']['names']['plural']}.yaml"] = render_yaml(document)
        elif document["kind"] == "ValidatingAdmissionPolicy":
            files[f"files/policies/{name}.yaml"] = render_yaml(document)
    (mutating,) = (d for d in documents if d["kind"] == "MutatingWebhookConfiguration")
    files["files/pod-match-conditions.yaml"] = render_yaml(
        mutating["webhooks"][0]["matchConditions"]
    )
    return {path: _HEADER + text for path, text in files.items()}
