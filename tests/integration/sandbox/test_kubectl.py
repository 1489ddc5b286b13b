"""Real kubectl against the sandbox: apply, get, describe, patch, label, wait, delete, watch.

Ref: kubectl reference (kubectl apply/get/describe/patch/label/wait/delete); API concepts,
"Receiving resources as Tables"; Declarative management with kubectl apply.
"""

import json
import pathlib

import anyio

from hpa import sandbox as sandbox_module
from tests.sandbox_fixtures import Kubectl, poll_until

MANIFESTS = """
apiVersion: hostport.rmb938.com/v1alpha1
kind: HostPortClass
metadata:
  name: default
spec:
  pools:
  - start: 9000
    end: 9100
---
apiVersion: hostport.rmb938.com/v1alpha1
kind: HostPortClaim
metadata:
  name: web
  namespace: default
spec:
  hostPortClassName: default
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
  labels: {app: web}
spec:
  containers:
  - name: app
    image: nginx
    ports:
    - {name: http, containerPort: 80}
"""


async def test_apply_is_idempotent_and_reapplies_changes(kubectl: Kubectl) -> None:
    """kubectl apply creates, reports unchanged, then patches a changed manifest.

    Ref: Declarative Management of Kubernetes Objects Using Configuration Files.
    """
    first = await kubectl("apply", "-f", "-", input=MANIFESTS)
    assert first.stdout.splitlines() == [
        "hostportclass.hostport.rmb938.com/default created",
        "hostportclaim.hostport.rmb938.com/web created",
        "pod/web created",
    ]
    second = await kubectl("apply", "-f", "-", input=MANIFESTS)
    assert all(line.endswith("unchanged") for line in second.stdout.splitlines())
    changed = MANIFESTS.replace("labels: {app: web}", "labels: {app: web, tier: front}").replace(
        "end: 9100", "end: 9200"
    )
    third = await kubectl("apply", "-f", "-", input=changed)
    assert "hostportclass.hostport.rmb938.com/default configured" in third.stdout
    assert "pod/web configured" in third.stdout
    pools = await kubectl("get", "hpcl", "default", "-o", "jsonpath={.spec.pools[0].end}")
    assert pools.stdout == "9200"
    labels = await kubectl("get", "pod", "web", "-o", "jsonpath={.metadata.labels.tier}")
    assert labels.stdout == "front"


async def test_apply_of_the_checked_in_crds(kubectl: Kubectl) -> None:
    """kubectl apply of manifests/base/crds updates the installed CRDs and they stay established.

    Ref: CRDs, "Create a CustomResourceDefinition".
    """
    crds = pathlib.Path(__file__).parents[3] / "manifests" / "base" / "crds"
    result = await kubectl("apply", "-f", str(crds))
    assert result.stdout.count("customresourcedefinition.apiextensions.k8s.io/") == 3
    await kubectl(
        "wait",
        "--for=condition=Established",
        "crd/hostportclaims.hostport.rmb938.com",
        "--timeout=10s",
    )


async def test_get_prints_the_printer_columns(kubectl: Kubectl) -> None:
    """kubectl get hpc shows NAME CLASS HOSTPORT PORT PHASE AGE; -o wide adds priority columns.

    Ref: CRDs, "Additional printer columns".
    """
    await kubectl("apply", "-f", "-", input=MANIFESTS)
    await kubectl("patch", "hpc", "web", "--subresource=status", "--type=merge", "-p",
                  '{"status": {"phase": "Bound", "port": 9000}}')  # fmt: skip
    table = await kubectl("get", "hpc")
    header, row = table.stdout.splitlines()
    assert header.split() == ["NAME", "CLASS", "HOSTPORT", "PORT", "PHASE", "AGE"]
    assert row.split()[:4] == ["web", "default", "9000", "Bound"]
    hostport = {
        "apiVersion": "hostport.rmb938.com/v1alpha1",
        "kind": "HostPort",
        "metadata": {"name": "port-9000"},
        "spec": {
            "hostPortClassName": "default",
            "port": 9000,
            "claimRef": {"namespace": "default", "name": "web", "uid": "u"},
        },
    }
    await kubectl("create", "-f", "-", input=json.dumps(hostport))
    narrow = (await kubectl("get", "hp")).stdout.splitlines()[0].split()
    wide = (await kubectl("get", "hp", "-o", "wide")).stdout.splitlines()[0].split()
    assert len(wide) > len(narrow)
    everything = await kubectl("get", "hostport-allocator", "-A")
    assert "hostportclaim.hostport.rmb938.com/web" in everything.stdout


async def test_describe_shows_spec_and_status(kubectl: Kubectl) -> None:
    """kubectl describe renders a custom resource.

    Ref: kubectl describe.
    """
    await kubectl("apply", "-f", "-", input=MANIFESTS)
    described = await kubectl("describe", "hpc", "web")
    assert "Host Port Class Name:  default" in described.stdout
    assert "Events:" in described.stdout
    pod = await kubectl("describe", "pod", "web")
    assert "nginx" in pod.stdout


async def test_patch_merge_and_json_and_label(kubectl: Kubectl) -> None:
    """kubectl patch (merge, json) and kubectl label change a custom resource.

    Ref: Update API objects in place using kubectl patch; kubectl label.
    """
    await kubectl("apply", "-f", "-", input=MANIFESTS)
    await kubectl(
        "patch", "hpc", "web", "--type=merge", "-p", '{"spec":{"hostPortName":"port-9000"}}'
    )
    await kubectl("patch", "hpc", "web", "--type=json", "-p",
                  '[{"op":"add","path":"/metadata/annotations/a","value":"b"}]')  # fmt: skip
    await kubectl("label", "hpc", "web", "team=x")
    got = json.loads((await kubectl("get", "hpc", "web", "-o", "json")).stdout)
    assert got["spec"]["hostPortName"] == "port-9000"
    assert got["metadata"]["annotations"]["a"] == "b"
    assert got["metadata"]["labels"] == {"team": "x"}
    selected = await kubectl("get", "hpc", "-l", "team=x", "-o", "name")
    assert selected.stdout.strip() == "hostportclaim.hostport.rmb938.com/web"
    refused = await kubectl("patch", "hpc", "web", "--type=merge", "-p",
                            '{"spec":{"hostPortClassName":"other"}}', check=False)  # fmt: skip
    assert refused.returncode != 0 and "hostPortClassName is immutable" in refused.stderr


async def test_strict_validation_rejects_unknown_fields(kubectl: Kubectl) -> None:
    """kubectl apply (--validate=strict by default) fails on an unknown field.

    Ref: API concepts, "Field validation".
    """
    bad = MANIFESTS.replace(
        "hostPortClassName: default", "hostPortClassName: default\n  color: blue"
    )
    result = await kubectl("apply", "-f", "-", input=bad, check=False)
    assert result.returncode != 0
    assert 'unknown field "spec.color"' in result.stderr


async def test_wait_for_jsonpath_and_condition(
    kubectl: Kubectl, sandbox: sandbox_module.Sandbox
) -> None:
    """kubectl wait returns once a status change arrives through the watch.

    Ref: kubectl wait (--for=jsonpath, --for=condition).
    """
    await kubectl("apply", "-f", "-", input=MANIFESTS)
    results = {}

    async def wait(key: str, *args: str) -> None:
        results[key] = await kubectl("wait", *args, "--timeout=20s")

    async with anyio.create_task_group() as group:
        group.start_soon(wait, "phase", "--for=jsonpath={.status.phase}=Bound", "hpc/web")
        group.start_soon(wait, "ready", "--for=condition=Ready", "pod/web")
        await poll_until(lambda: sandbox.watch_count >= 2, within=15)
        await kubectl("patch", "hpc", "web", "--subresource=status", "--type=merge", "-p",
                      '{"status":{"phase":"Bound"}}')  # fmt: skip
        await kubectl("patch", "pod", "web", "--subresource=status", "--type=merge", "-p",
                      '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}')  # fmt: skip
    assert "condition met" in results["phase"].stdout
    assert "condition met" in results["ready"].stdout


async def test_delete_waits_for_finalizers(
    kubectl: Kubectl, sandbox: sandbox_module.Sandbox
) -> None:
    """kubectl delete returns once the last finalizer is removed.

    Ref: Finalizers; kubectl delete (--wait).
    """
    held = MANIFESTS.replace("  name: web\n  namespace: default\nspec:\n  hostPortClassName",
                             "  name: web\n  namespace: default\n  finalizers: [example.com/hold]\n"
                             "spec:\n  hostPortClassName")  # fmt: skip
    await kubectl("apply", "-f", "-", input=held)
    results = {}

    async def delete() -> None:
        results["delete"] = await kubectl("delete", "hpc", "web", "--timeout=20s")

    async with anyio.create_task_group() as group:
        group.start_soon(delete)
        await poll_until(
            lambda: (
                (
                    sandbox.get(
                        "hostport.rmb938.com/v1alpha1", "HostPortClaim", "web", namespace="default"
                    )
                    or {}
                )
                .get("metadata", {})
                .get("deletionTimestamp")
            ),
            within=15,
        )
        await kubectl(
            "patch",
            "hpc",
            "web",
            "--type=json",
            "-p",
            '[{"op":"remove","path":"/metadata/finalizers"}]',
        )
    assert 'hostportclaim.hostport.rmb938.com "web" deleted' in results["delete"].stdout
    assert (await kubectl("get", "hpc", "-o", "name")).stdout == ""


async def test_get_watch_streams_changes(kubectl: Kubectl, sandbox: sandbox_module.Sandbox) -> None:
    """kubectl get -w prints the table, then one row per change until the request timeout.

    Ref: kubectl get (--watch); API concepts, "Efficient detection of changes".
    """
    await kubectl("apply", "-f", "-", input=MANIFESTS)
    results = {}

    async def watch() -> None:
        results["watch"] = await kubectl("get", "hpc", "-w", "--request-timeout=4s", check=False)

    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        await poll_until(lambda: sandbox.watch_count >= 1, within=15)
        await kubectl("patch", "hpc", "web", "--subresource=status", "--type=merge", "-p",
                      '{"status":{"phase":"Bound","port":9001}}')  # fmt: skip
    lines = results["watch"].stdout.splitlines()
    assert lines[0].split() == ["NAME", "CLASS", "HOSTPORT", "PORT", "PHASE", "AGE"]
    assert any(line.split()[2:4] == ["9001", "Bound"] for line in lines[1:])


async def test_explain_reads_the_crd_schema(kubectl: Kubectl) -> None:
    """kubectl explain shows a custom resource's fields, types and descriptions.

    Ref: kubectl explain; Kubernetes API, "OpenAPI V3".
    """
    explained = await kubectl("explain", "hostportclaims.spec")
    assert "hostPortClassName\t<string> -required-" in explained.stdout
    assert "The HostPortClass to take a port from." in explained.stdout


async def test_get_across_namespaces_and_api_resources(kubectl: Kubectl) -> None:
    """kubectl api-resources lists the CRDs; get -A adds the NAMESPACE column.

    Ref: kubectl api-resources; kubectl get (--all-namespaces).
    """
    resources = await kubectl("api-resources", "--api-group=hostport.rmb938.com", "-o", "name")
    assert sorted(resources.stdout.split()) == [
        "hostportclaims.hostport.rmb938.com",
        "hostportclasses.hostport.rmb938.com",
        "hostports.hostport.rmb938.com",
    ]
    await kubectl("apply", "-f", "-", input=MANIFESTS)
    everywhere = await kubectl("get", "hpc", "-A")
    assert everywhere.stdout.splitlines()[0].split()[:2] == ["NAMESPACE", "NAME"]


async def test_typed_create_commands_send_protobuf(kubectl: Kubectl) -> None:
    """kubectl create namespace/configmap/secret (protobuf bodies) and kubectl run work.

    Ref: API concepts, "Alternate representations of resources" (protobuf encoding).
    """
    await kubectl("create", "namespace", "team")
    await kubectl("create", "configmap", "c", "-n", "team", "--from-literal=a=b")
    await kubectl("create", "secret", "generic", "s", "-n", "team", "--from-literal=p=q")
    await kubectl("run", "p", "--image=nginx", "-n", "team", "--labels=app=p")
    data = await kubectl("get", "configmap", "c", "-n", "team", "-o", "jsonpath={.data.a}")
    secret = await kubectl("get", "secret", "s", "-n", "team", "-o", "jsonpath={.type} {.data.p}")
    assert (data.stdout, secret.stdout) == ("b", "Opaque cQ==")
    pods = await kubectl("get", "pods", "-n", "team", "-l", "app=p", "-o", "name")
    assert pods.stdout.strip() == "pod/p"
    await kubectl("delete", "namespace", "team", "--timeout=20s")
    gone = await kubectl("get", "namespace", "team", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


async def test_get_events_shows_type_reason_object_and_message(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl
) -> None:
    """`kubectl get events` prints what happened to which object, as kube-apiserver's table does.

    Ref: API concepts, "Receiving resources as Tables".
    """
    await sandbox.create(
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "web.1", "namespace": "default"},
            "involvedObject": {"kind": "HostPortClaim", "name": "web", "namespace": "default"},
            "type": "Warning",
            "reason": "ClassFull",
            "message": "class default has no free port",
        }
    )
    result = await kubectl("get", "events", "-n", "default")
    header, row = result.stdout.splitlines()[:2]
    assert header.split()[:5] == ["NAME", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert "Warning" in row and "ClassFull" in row and "hostportclaim/web" in row
    assert "class default has no free port" in row
