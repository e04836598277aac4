"""The porewatch command line, invoked as a user would."""

import subprocess
import sys
import tomllib

from typer.testing import CliRunner

from porewatch.services.cli import app

runner = CliRunner()


def test_config_show_prints_the_effective_configuration():
    result = runner.invoke(app, ["config", "show", "--set", "pipeline.recon_method=fbp"],
                           env={"POREWATCH_SIMULATION__N_COLS": "96"})
    assert result.exit_code == 0, result.output
    shown = tomllib.loads(result.output)
    assert shown["pipeline"]["recon_method"] == "fbp"
    assert shown["simulation"]["n_cols"] == 96


def test_a_bad_setting_is_a_clear_error_and_exit_code_2():
    result = runner.invoke(app, ["config", "show", "--set", "pipeline.recon_method=art"])
    assert result.exit_code == 2
    assert "recon_method" in result.output


def test_the_installed_entry_point_lists_every_subcommand():
    result = subprocess.run([sys.executable, "-m", "porewatch.services.cli", "--help"], capture_output=True,
                            text=True, check=False)
    for command in ("demo", "serve", "simulate", "replay", "report", "config"):
        assert command in result.stdout, result.stdout + result.stderr
