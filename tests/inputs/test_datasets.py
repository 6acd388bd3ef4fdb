from pathlib import Path

import pytest

from skillcircle import DataFolderError
from skillcircle.inputs.datasets import sample_path, yuexiu
from skillcircle.inputs.stations import read_stations

REPO = Path(__file__).resolve().parents[2]


def test_packaged_sample_equals_the_repository_copy():
    assert sample_path().read_bytes() == (REPO / "data/samples/yuexiu_stations.csv").read_bytes()


def test_sample_ledger_reads_cleanly():
    read = read_stations(sample_path())
    assert len(read.stations) == 21
    assert len(read.rejected) == 0


def test_yuexiu_paths(tmp_path, monkeypatch):
    monkeypatch.delenv("SKILLCIRCLE_DATA", raising=False)
    with pytest.raises(DataFolderError, match="SKILLCIRCLE_DATA is not set"):
        yuexiu()
    with pytest.raises(DataFolderError, match="lacks"):
        yuexiu(tmp_path)


@pytest.mark.data
def test_yuexiu_layers_exist(data_root):
    y = yuexiu(data_root)
    assert y.roads.name == "roads_osm.gpkg"
    assert y.worldpop.is_file()
    assert y.census.is_file()
