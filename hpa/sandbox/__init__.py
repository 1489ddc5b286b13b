"""An in-process Kubernetes API server emulator, for tests and for trying hpa without a cluster.

Test support only: it may import ``hpa.api``; nothing in the operator imports it.
"""
