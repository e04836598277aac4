import json
import re
import subprocess
import sys

import numpy as np
import pytest
import tifffile
from typer.testing import CliRunner

from porewatch.kernels.labels import Phase
from porewatch.services.cli import app
from porewatch.services.training import parse_simulated
from porewatch.services.training_data import labelled_volume_slices, read_volume

#: rows [start, stop): air | steel | Li | LLZO | Li | steel | air, with attenuation (1/m)
LAYERS = (((3, 10), Phase.STEEL, 550.0), ((10, 24), Phase.LITHIUM, 7.0), ((24, 40), Phase.LLZO, 1440.0),
          ((40, 54), Phase.LITHIUM, 7.0), ((54, 61), Phase.STEEL, 550.0))


def write_labelled_cell(directory, n_z=64, n=48, seed=0):
    rng = np.random.default_rng(seed)
    mu = np.zeros((n_z, n, n), np.float32)
    labels = np.zeros((n_z, n, n), np.uint8)
    for (start, stop), phase, value in LAYERS:
        mu[start:stop], labels[start:stop] = value, phase
    offset = np.arange(n) - (n - 1) / 2
    outside = np.hypot(offset[:, None], offset[None, :]) > 0.4 * n
    mu[:, outside], labels[:, outside] = 0.0, Phase.OUTSIDE
    mu += rng.normal(0.0, 20.0, mu.shape).astype(np.float32)
    tifffile.imwrite(directory / "cell.tif", mu)
    tifffile.imwrite(directory / "labels.tif", labels)
    return directory / "cell.tif", directory / "labels.tif"


def test_simulated_cells_parse_from_seed_and_width():
    cells = parse_simulated(["3", "4:256"], steps=("pristine",), randomise=False)
    assert [(c.seed, c.n_cols, c.steps, c.randomise) for c in cells] == [(3, 128, ("pristine",), False),
                                                                         (4, 256, ("pristine",), False)]
    with pytest.raises(ValueError, match="SEED"):
        parse_simulated(["x:1"], steps=("pristine",), randomise=True)


def test_user_volumes_give_their_electrode_slices(tmp_path):
    image, labels = write_labelled_cell(tmp_path)
    slices = labelled_volume_slices(image, labels, margin_um=20.0, pixel_size_m=10e-6)
    assert 28 <= len(slices) <= 40 and slices.sources[0].startswith("cell.tif z ")
    lithium = sum(int((s == Phase.LITHIUM).sum()) for s in slices.labels)
    assert lithium == int((tifffile.imread(labels) == Phase.LITHIUM).sum())
    for electrode, (first, last) in (("top", (10, 23)), ("bottom", (40, 53))):
        one = labelled_volume_slices(image, labels, margin_um=20.0, pixel_size_m=10e-6, electrodes=(electrode,))
        rows = [int(source.rsplit(" ", 1)[1]) for source in one.sources]
        assert set(range(first, last + 1)) <= set(rows) and len(rows) < len(slices), (electrode, rows)
    with pytest.raises(ValueError, match="dataset key"):
        read_volume(tmp_path / "x.h5")


def test_hdf5_volumes_give_the_same_slices_as_tiff_stacks(tmp_path):
    import h5py

    image, labels = write_labelled_cell(tmp_path)
    with h5py.File(tmp_path / "cell.h5", "w") as handle:
        handle["exchange/data"], handle["exchange/labels"] = tifffile.imread(image), tifffile.imread(labels)
    from_hdf5 = labelled_volume_slices(tmp_path / "cell.h5", tmp_path / "cell.h5", image_key="exchange/data",
                                       label_key="exchange/labels", margin_um=20.0, pixel_size_m=10e-6)
    from_tiff = labelled_volume_slices(image, labels, margin_um=20.0, pixel_size_m=10e-6)
    assert len(from_hdf5) == len(from_tiff)
    np.testing.assert_array_equal(np.stack(from_hdf5.labels), np.stack(from_tiff.labels))
    np.testing.assert_array_equal(np.stack(from_hdf5.images), np.stack(from_tiff.images))
    with pytest.raises(ValueError, match="no dataset 'absent'"):
        read_volume(tmp_path / "cell.h5", key="absent")


@pytest.mark.parametrize("bad_labels, message", [(np.float32(1.0), "integers"), (np.uint8(len(Phase)), "0..4")])
def test_label_volumes_outside_the_phases_are_rejected(tmp_path, bad_labels, message):
    image, labels = write_labelled_cell(tmp_path)
    volume = tifffile.imread(labels).astype(np.asarray(bad_labels).dtype)
    volume[0, 0, 0] = bad_labels
    tifffile.imwrite(tmp_path / "bad.tif", volume)
    with pytest.raises(ValueError, match=message):
        labelled_volume_slices(image, tmp_path / "bad.tif", margin_um=20.0, pixel_size_m=10e-6)


def test_train_command_writes_the_model_and_its_card(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("safetensors")
    image, labels = write_labelled_cell(tmp_path)
    out = tmp_path / "model"
    arguments = ["train", "--out", str(out), "--name", "tiny", "--images", str(image), "--labels", str(labels),
                 "--pixel-size-um", "10", "--margin-um", "20", "--architecture", "tiny", "--iterations", "6",
                 "--eval-every", "3", "--batch-size", "2", "--crop-px", "32", "--train-slices", "12",
                 "--val-slices", "3"]
    monkeypatch.setattr(sys, "argv", ["porewatch", *arguments])  # the card records the command line
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"tiny.onnx", "tiny.md", "tiny.history.json"}
    card = (out / "tiny.md").read_text()
    assert f"porewatch train --out {out}" in card and "| pore |" in card and "12 training and 3 validation slices (validation in blocks" in card
    top_rows = int(re.search(r"- cell.tif: (\d+) slices", card).group(1))  # by default the top electrode only
    assert 14 <= top_rows <= 20, card
    printed = json.loads(result.output[result.output.index("{"):])
    assert printed["files"]["onnx_fp16"]["path"] == "tiny.onnx"
    assert len(json.loads((out / "tiny.history.json").read_text())) == 2

    again = [*arguments[:2], str(tmp_path / "continued"), *arguments[3:], "--init", str(out / "tiny.onnx"),
             "--ema-decay", "0.9", "--dice-weight", "0.5", "--count-weight", "0.25"]
    monkeypatch.setattr(sys, "argv", ["porewatch", *again])
    result = CliRunner().invoke(app, again)
    assert result.exit_code == 0, result.output
    card = (tmp_path / "continued" / "tiny.md").read_text()
    assert "which continued from `tiny.onnx`" in card and f"porewatch train --out {out} " in card
    assert '"ema_decay": 0.9' in card and '"dice_weight": 0.5' in card and '"count_weight": 0.25' in card


def test_label_init_command_writes_a_label_stack(tmp_path):
    image, _ = write_labelled_cell(tmp_path)
    result = CliRunner().invoke(app, ["label-init", str(image), "--out", str(tmp_path / "init.tif")])
    assert result.exit_code == 0, result.output
    labels = tifffile.imread(tmp_path / "init.tif")
    assert labels.shape == (64, 48, 48) and labels.dtype == np.uint8
    counts = json.loads(result.output)
    assert counts["llzo"] > 0 and counts["steel"] > 0 and counts["lithium"] > 0


def test_train_without_torch_says_what_to_install(tmp_path):
    script = f"""
import sys


class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)


sys.meta_path.insert(0, NoTorch())
from typer.testing import CliRunner
from porewatch.services.cli import app
result = CliRunner().invoke(app, ["train", "--out", {str(tmp_path)!r}, "--simulated", "1"])
print(result.exit_code, result.output)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith("2 ") and "pip install 'porewatch[train]'" in done.stdout, done.stdout + done.stderr
