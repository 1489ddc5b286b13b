"""hpa, the HostPort Allocator: a Kubernetes operator that hands out host ports like volumes.

Layers, top to bottom (imports go downward only, checked by import-linter):
``hpa.cli`` → ``hpa.controllers``, ``hpa.webhook`` → ``hpa.kube``, ``hpa.index`` → ``hpa.api``.
``hpa.sandbox`` is an in-process API server emulator for tests and trials; only the CLI starts it.
"""

__version__ = "0.1.0"
