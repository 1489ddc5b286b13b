"""The ``hpa`` command: run the operator, start the sandbox, render manifests.

The top layer: it may import every other package, and nothing imports it.
"""

from hpa.cli._main import main

__all__ = ["main"]
