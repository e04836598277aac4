"""Configuration: defaults, TOML file, environment mapping and --set overrides, in that order."""

import tomllib

import pytest

from porewatch.services.config import Config, load_config, to_toml


def test_defaults_are_documented_and_round_trip_through_toml(tmp_path):
    text = to_toml(Config())
    path = tmp_path / "porewatch.toml"
    path.write_text(text)
    assert load_config(path, environ={}) == Config()
    assert "# interface to bind" in text


def test_precedence_file_then_environment_then_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[pipeline]\nrecon_method = 'fbp'\nstep_queue_size = 5\n[simulation]\nn_cols = 64\n")
    environ = {"POREWATCH_PIPELINE__STEP_QUEUE_SIZE": "7", "POREWATCH_SIMULATION__N_COLS": "80",
               "POREWATCH_TILED__WRITE_VOLUMES": "false", "UNRELATED": "1"}
    config = load_config(path, overrides=["simulation.n_cols=96"], environ=environ)
    assert config.pipeline.recon_method == "fbp"
    assert config.pipeline.step_queue_size == 7
    assert config.simulation.n_cols == 96
    assert config.tiled.write_volumes is False


def test_environment_variable_names_map_to_sections_and_keys():
    config = load_config(environ={"POREWATCH_NETWORK__FRAMES_PORT": "6001",
                                  "POREWATCH_ANALYSIS__HOTSPOT_THRESHOLD": "4.5",
                                  "POREWATCH_SEGMENTATION__METHOD": "multiotsu"})
    assert config.network.frames_port == 6001
    assert config.analysis.hotspot_threshold == 4.5
    assert config.segmentation.method == "multiotsu"


@pytest.mark.parametrize("override, message", [
    ("nosection.key=1", "known section"),
    ("pipeline.recon_method=art", "recon_method"),
    ("pipeline.unknown_key=1", "unknown_key"),
    ("simulation.n_cols=4", "n_cols"),
    ("pipeline.backend", "section.key=value"),
])
def test_bad_settings_name_what_is_wrong(override, message):
    with pytest.raises(ValueError, match=message):
        load_config(overrides=[override], environ={})


def test_bad_toml_file_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[pipeline\n")
    with pytest.raises(ValueError, match="broken.toml"):
        load_config(path, environ={})


def test_toml_output_is_valid_toml():
    assert tomllib.loads(to_toml(Config()))["pipeline"]["recon_method"] == "gridrec"
