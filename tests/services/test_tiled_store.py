"""Against a real local Tiled server, started once for the module (it takes ~7-35 s)."""

import os
import socket

import numpy as np
import pytest

from porewatch.services.tiled_store import (
    LocalTiledServer,
    TiledResultStore,
    step_key,
    to_json_metadata,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with LocalTiledServer(tmp_path_factory.mktemp("tiled")) as running:
        yield running


@pytest.fixture
def store(server):
    with TiledResultStore(server.uri, server.api_key) as opened:
        yield opened


def step_results(step_index, n=8):
    rng = np.random.default_rng(step_index)
    maps = np.full((n, n), np.nan, dtype=np.float32)
    maps[2:5, 3] = rng.random(3, dtype=np.float32)
    arrays = {
        "volume": rng.random((n, n, n), dtype=np.float32),
        "labels": rng.integers(0, 5, (n, n, n), dtype=np.uint8),
        "map_top": maps,
    }
    metadata = {
        "step_name": f"plate_{step_index}",
        "current_density_A_m2": np.float64(0.5 * step_index),
        "pixel_size_m": 1.3e-6,
        "run_uid": f"uid-{step_index}",
        "report": {"tau": float("nan"), "porosity_profile": np.linspace(0, 1, 3)},
    }
    table = {"porosity": np.float32(0.25), "n_pores": 3 + step_index, "tau": float("inf")}
    return metadata, arrays, table


def write_two_steps(store, cell_id):
    written = {}
    for step_index in (1, 0):
        metadata, arrays, table = step_results(step_index)
        store.write_step(cell_id, step_index, metadata=metadata, arrays=arrays, table=table)
        written[step_index] = arrays
    return written


def test_two_steps_round_trip(store):
    written = write_two_steps(store, "cell-a")
    steps = store.read_cell("cell-a")
    assert [step["step_index"] for step in steps] == [0, 1]
    assert steps[1] == {
        "step_name": "plate_1",
        "current_density_A_m2": 0.5,
        "pixel_size_m": 1.3e-6,
        "run_uid": "uid-1",
        "report": {"tau": None, "porosity_profile": [0.0, 0.5, 1.0]},
        "cell_id": "cell-a",
        "step_index": 1,
        "arrays": ["labels", "map_top", "volume"],
        "metrics": {"porosity": 0.25, "n_pores": 4, "tau": None},
    }
    for step_index, arrays in written.items():
        for key, expected in arrays.items():
            got = store.read_array("cell-a", step_index, key)
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)
    assert "cell-a" in store.list_cells()


def test_tiled_nodes_carry_specs_dims_and_metrics_table(server, store):
    from tiled.client import from_uri

    write_two_steps(store, "cell-t")
    client = from_uri(server.uri, api_key=server.api_key)
    try:
        assert [spec.name for spec in client["cell-t"].specs] == ["porewatch-cell"]
        assert client["cell-t"].metadata["cell_id"] == "cell-t"
        assert [spec.name for spec in client["cell-t/step_001"].specs] == ["porewatch-step"]
        assert client["cell-t/step_001/volume"].structure().dims == ("z", "y", "x")
        assert client["cell-t/step_001/map_top"].structure().dims == ("y", "x")
        table = client["cell-t/step_001/metrics"].read()
        assert list(table.columns) == ["porosity", "n_pores", "tau"] and len(table) == 1
        assert table["n_pores"][0] == 4 and np.isinf(table["tau"][0])
    finally:
        client.context.close()


def test_rewriting_a_step_replaces_it(store):
    write_two_steps(store, "cell-b")
    metadata, arrays, _ = step_results(5)
    store.write_step("cell-b", 1, metadata=metadata, arrays={"labels": arrays["labels"]})
    steps = store.read_cell("cell-b")
    assert [step["run_uid"] for step in steps] == ["uid-0", "uid-5"]
    assert steps[1]["arrays"] == ["labels"] and steps[1]["metrics"] == {}
    np.testing.assert_array_equal(store.read_array("cell-b", 1, "labels"), arrays["labels"])
    with pytest.raises(KeyError, match="no array 'volume'"):
        store.read_array("cell-b", 1, "volume")


def test_missing_cell_and_step_raise_key_error(store):
    with pytest.raises(KeyError, match="no cell 'absent'"):
        store.read_cell("absent")
    write_two_steps(store, "cell-d")
    with pytest.raises(KeyError, match="no step_007"):
        store.read_array("cell-d", 7, "labels")


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"cell_id": "a/b"}, ValueError, "cell_id"),
        ({"step_index": -1}, ValueError, "step_index"),
        ({"metadata": {"step_index": 9}}, ValueError, r"metadata\['step_index'\]"),
        ({"metadata": {"when": object()}}, TypeError, r"metadata\['when'\]"),
        ({"metadata": {"metrics": {}}}, ValueError, r"\['metrics'\] are reserved"),
        ({"arrays": {"profile": np.zeros(4)}}, ValueError, r"dims\['profile'\]"),
        ({"arrays": {"labels": [1, 2]}}, TypeError, r"arrays\['labels'\]"),
        ({"table": {"porosity": [0.1]}}, TypeError, r"table\['porosity'\]"),
    ],
)
def test_bad_arguments_are_named_before_writing(store, arguments, error, message):
    call = {"cell_id": "cell-e", "step_index": 0, "metadata": {}, "arrays": {}} | arguments
    with pytest.raises(error, match=message):
        store.write_step(call.pop("cell_id"), call.pop("step_index"), **call)
    assert "cell-e" not in store.list_cells()


def test_explicit_dims_allow_other_ranks(store):
    profile = np.linspace(0.0, 1.0, 5, dtype=np.float32)
    store.write_step(
        "cell-f", 0, metadata={}, arrays={"profile": profile}, dims={"profile": ["z"]}
    )
    np.testing.assert_array_equal(store.read_array("cell-f", 0, "profile"), profile)


def test_directory_reopens_in_a_second_server(server, store):
    written = write_two_steps(store, "cell-r")
    with LocalTiledServer(server.directory) as second:
        assert second.uri.startswith("http://127.0.0.1:") and second.api_key != server.api_key
        with TiledResultStore(second.uri, second.api_key) as reopened:
            assert reopened.read_cell("cell-r") == store.read_cell("cell-r")
            volume = reopened.read_array("cell-r", 0, "volume")
        port = int(second.uri.split(":")[2].split("/")[0])
        pid = second.pid
    assert not second.running and second.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass
    second.stop()
    np.testing.assert_array_equal(volume, written[0]["volume"])


def test_step_key_and_json_conversion():
    assert step_key(7) == step_key(np.int64(7)) == "step_007"
    with pytest.raises(TypeError, match="step_index"):
        step_key(True)
    converted = to_json_metadata({"a": (np.int16(3), np.nan), "b": np.array([[1.5, np.inf]])})
    assert converted == {"a": [3, None], "b": [[1.5, None]]}
    with pytest.raises(TypeError, match="non-str key 1"):
        to_json_metadata({1: 2})
