"""``python -m hpa.manifests --chart DIR``: write the generated files of the Helm chart."""

import argparse
import pathlib

from hpa.manifests._chart import chart_files


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m hpa.manifests",
        description="Write the files of the Helm chart that are generated from hpa's code "
        "(CRDs, admission policies, the pod webhooks' conditions).",
    )
    parser.add_argument("--chart", required=True, metavar="DIR", help="the chart, e.g. charts/hpa")
    root = pathlib.Path(parser.parse_args().chart)
    for name, text in chart_files().items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(path)


if __name__ == "__main__":
    main()
