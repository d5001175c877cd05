"""Run the gridmap command line in-process, as the tests do it."""

from __future__ import annotations

from typer.testing import CliRunner

from gis_api.cli import app

runner = CliRunner()


def gridmap(*args: str) -> tuple[int, str]:
    """Run ``gridmap ARGS``; return its exit code and everything it printed."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output
