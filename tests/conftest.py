"""Shared pytest configuration: the sandbox fixtures are available to every test."""

pytest_plugins = ["tests.sandbox_fixtures"]
