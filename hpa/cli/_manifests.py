"""``hpa manifests``: write the generated manifests (the CRDs) as YAML."""

import argparse
import pathlib
from typing import Any

import yaml

from hpa import api


def render_yaml(document: Any) -> str:
    """One manifest as YAML, keys in the order the code gives them."""
    return yaml.safe_dump(document, sort_keys=False, width=100)


def crd_files() -> dict[str, str]:
    """File name → YAML text of every generated CRD."""
    return {
        f"{crd['spec']['names']['plural']}.yaml": render_yaml(crd)
        for crd in api.custom_resource_definitions()
    }


def _write_crds(args: argparse.Namespace) -> int:
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in crd_files().items():
        (out / name).write_text(text)
        print(out / name)
    return 0


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register ``hpa manifests``."""
    parser = commands.add_parser("manifests", help="render hpa's manifests")
    kinds = parser.add_subparsers(dest="what", required=True, metavar="WHAT")
    crds = kinds.add_parser("crds", help="write the CustomResourceDefinitions")
    crds.add_argument("--out", default="manifests/crds", help="directory (default: %(default)s)")
    crds.set_defaults(handler=_write_crds)
