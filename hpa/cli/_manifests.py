"""``hpa manifests``: print the whole install as one YAML stream, or write the kustomize tree."""

import argparse
import pathlib
import sys

from hpa import api, manifests


def _render(args: argparse.Namespace) -> int:
    if args.write:
        root = pathlib.Path(args.write)
        for name, text in manifests.kustomize_files().items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(path)
        return 0
    key, sep, value = args.namespace_label.partition("=")
    if not sep or not key:
        raise SystemExit(f"--namespace-label must be key=value, not {args.namespace_label!r}")
    options = manifests.Options(
        namespace=args.namespace,
        image=args.image,
        replicas=args.replicas,
        namespace_label=key,
        namespace_label_value=value,
        webhook_url=args.webhook_url,
        lease_name=args.lease_name,
        allow_host_network=args.allow_host_network,
    )
    sys.stdout.write(manifests.render_yaml(*manifests.install_documents(options)))
    return 0


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register ``hpa manifests``."""
    parser = commands.add_parser(
        "manifests",
        help="print the install manifests (kubectl apply -f -)",
        description="Print every object that installs hpa as one YAML stream, "
        "or write the kustomize base and overlays with --write.",
    )
    parser.add_argument("--namespace", default=api.DEFAULT_NAMESPACE, help="default: %(default)s")
    parser.add_argument("--image", default=manifests.DEFAULT_IMAGE, help="default: %(default)s")
    parser.add_argument("--replicas", type=int, default=2, help="default: %(default)s")
    parser.add_argument(
        "--namespace-label",
        default=f"{api.NAMESPACE_LABEL}={api.NAMESPACE_LABEL_VALUE}",
        help="label (key=value) of the namespaces whose pods hpa admits (default: %(default)s)",
    )
    parser.add_argument(
        "--lease-name",
        default=api.LEASE_NAME,
        help="the leader-election Lease, granted by the Role (default: %(default)s)",
    )
    parser.add_argument(
        "--allow-host-network",
        action="store_true",
        help="admit pods with hostNetwork in managed namespaces (leaves out the policy that "
        "refuses it, and runs hpa with --allow-host-network)",
    )
    parser.add_argument(
        "--webhook-url",
        default="",
        metavar="URL",
        help="have the API server call the webhook at this base URL instead of the Service, "
        "for hpa running outside the cluster (give `hpa run` the URL's host: --webhook-host)",
    )
    parser.add_argument(
        "--write",
        metavar="DIR",
        help="write the kustomize tree (base, CRDs, cert-manager overlay) under DIR instead",
    )
    parser.set_defaults(handler=_render)
