"""Reconcilers that turn claims into HostPorts, fed by a work queue."""
