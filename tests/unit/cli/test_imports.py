"""The operator's command line does not need the sandbox or its optional dependencies."""

import subprocess
import sys


def test_hpa_cli_imports_without_the_sandbox() -> None:
    """Importing hpa.cli loads neither hpa.sandbox nor the CEL engine (the image has neither)."""
    probe = (
        "import sys, hpa.cli; print(sorted(m for m in sys.modules if m in {'hpa.sandbox', 'cel'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
