"""The example workstation configuration loads, and the systemd unit runs a command that exists."""

import configparser
import shlex
from pathlib import Path

import typer.main

from porewatch.services.cli import app
from porewatch.services.config import load_config

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_gpu_workstation_configuration_is_valid():
    config = load_config(DEPLOY / "porewatch-gpu-workstation.toml", environ={})
    assert config.pipeline.backend == "cupy"
    assert config.rescan.policy == "suggest" and config.web.enabled
    assert config.network.metrics_port == 9580
    assert config.segmentation.flip_averaging and config.segmentation.backend == "auto"


def read_unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(DEPLOY / "systemd" / name)
    return unit


def test_service_unit_runs_porewatch_serve_with_existing_options():
    unit = read_unit("porewatch.service")
    assert {"Unit", "Service", "Install"} <= set(unit.sections())
    command = shlex.split(unit["Service"]["ExecStart"])
    assert command[0].endswith("/porewatch") and command[1] == "serve"
    options = {opt for param in typer.main.get_command(app).commands["serve"].params
               for opt in getattr(param, "opts", [])}
    assert {arg for arg in command[2:] if arg.startswith("--")} <= options
    assert unit["Service"]["KillSignal"] == "SIGTERM"


def test_queue_server_unit_uses_the_shipped_startup_code_and_permissions():
    unit = read_unit("porewatch-queue-server.service")
    command = shlex.split(unit["Service"]["ExecStart"].replace("\\\n", " "))
    assert command[0].endswith("/start-re-manager") and "redis-server.service" in unit["Unit"]["Requires"]
    for option, shipped in (("--startup-script", "porewatch_simulated_startup.py"),
                            ("--user-group-permissions", "user_group_permissions.yaml")):
        path = command[command.index(option) + 1]
        assert path.endswith("deploy/queue-server/" + shipped) and (DEPLOY / "queue-server" / shipped).exists()
    control = command[command.index("--zmq-control-addr") + 1]
    assert control == load_config(environ={}).rescan.queue_server  # porewatch's default finds it
