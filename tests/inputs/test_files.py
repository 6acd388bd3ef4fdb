import hashlib

import pytest

from skillcircle import DataFolderError
from skillcircle.inputs.files import atomic_path, data_dir, sha256_file, write_json, write_text


def test_atomic_write_leaves_no_trace_on_failure(tmp_path):
    target = tmp_path / "out" / "a.txt"
    write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.txt"]


def test_json_keeps_chinese_readable(tmp_path):
    p = write_json(tmp_path / "s.json", {"name": "越秀区", "n": 1})
    assert "越秀区" in p.read_text(encoding="utf-8")


def test_sha256(tmp_path):
    p = tmp_path / "b.bin"
    p.write_bytes(b"skillcircle")
    assert sha256_file(p) == hashlib.sha256(b"skillcircle").hexdigest()


def test_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("SKILLCIRCLE_DATA", str(tmp_path))
    assert data_dir() == tmp_path.resolve()
    monkeypatch.delenv("SKILLCIRCLE_DATA")
    assert data_dir(required=False) is None
    with pytest.raises(DataFolderError, match="SKILLCIRCLE_DATA is not set"):
        data_dir()


def test_json_numbers_from_numpy_stay_numbers(tmp_path):
    import json

    import numpy as np

    p = write_json(tmp_path / "n.json", {"a": np.int64(3), "b": np.float32(1.5), "p": tmp_path})
    back = json.loads(p.read_text(encoding="utf-8"))
    assert back == {"a": 3, "b": 1.5, "p": str(tmp_path)}
