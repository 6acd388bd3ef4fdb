"""report.xlsx and skillcircle.gpkg of the Yuexiu demo, read back independently."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
from openpyxl import load_workbook

from skillcircle.outputs import schema
from skillcircle.outputs.labels import header_label
from skillcircle.outputs.workbook import write_workbook


def _sheet_frame(ws: Any) -> pd.DataFrame:
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_workbook_sheets_headers_and_totals(yuexiu_demo: Any) -> None:
    folder = Path(yuexiu_demo.files[schema.REPORT_XLSX]).parent
    wb = load_workbook(folder / schema.REPORT_XLSX)
    assert wb.sheetnames == [
        "区 districts",
        "街道 sub-districts",
        "步速 speeds (区)",
        "步速 speeds (街道)",
        "站点 stations",
        "建议 suggestions",
        "空白区 gap zones",
        "剔除站点 rejected stations",
        "剔除候选 rejected sites",
        "路网 network",
        "口径 assumptions",
        "输入 inputs",
    ]
    first = wb["区 districts"]
    assert len(first._images) == 1  # the static map
    for name, csv in (
        ("区 districts", schema.DISTRICT_CSV),
        ("街道 sub-districts", schema.SUBDISTRICT_CSV),
        ("步速 speeds (街道)", schema.SENSITIVITY_BY_SUBDISTRICT_CSV),
        ("建议 suggestions", schema.SUGGESTIONS_CSV),
    ):
        ws = wb[name]
        assert ws.freeze_panes == "A3"
        sheet = _sheet_frame(ws)
        table = pd.read_csv(folder / csv)
        assert list(sheet.columns) == [header_label(c) for c in table.columns]
        assert len(sheet) == len(table)
        for col in table.columns:
            if pd.api.types.is_numeric_dtype(table[col]):
                got = pd.to_numeric(sheet[header_label(col)]).sum()
                assert abs(got - table[col].sum()) < 1e-6 * max(1.0, abs(table[col].sum()))
    subs = wb["街道 sub-districts"]
    headers = [c.value for c in subs[2]]
    assert "常住人口 residents" in headers
    assert "覆盖率 % coverage" in headers
    pct = subs.cell(row=3, column=headers.index("覆盖率 % coverage") + 1)
    pop = subs.cell(row=3, column=headers.index("常住人口 residents") + 1)
    assert pct.number_format == "0.0"
    assert pop.number_format == "#,##0"
    speeds = [c.value for c in wb["步速 speeds (街道)"][2]]
    assert "覆盖率 % coverage @ 3 km/h" in speeds
    # the network-sensitivity sheet: one row per 街道, its main-network column the 街道 table's
    network = _sheet_frame(wb["路网 network"]).set_index("街道 sub-district")
    table = pd.read_csv(folder / schema.SUBDISTRICT_CSV).set_index("subdistrict_name")
    assert len(network) == 18
    for name, row in network.iterrows():
        assert abs(row["覆盖率 % 主路网 main network"] - table.loc[name, "coverage_pct"]) < 1e-3
    assert round(network.loc["流花街道", "覆盖率 % 断口连通 gaps joined"]) == 47
    # 1 038 643 residents in the demo, as in the CSV's total row
    total = _sheet_frame(wb["区 districts"]).iloc[-1]
    assert total["区代码 district code"] == schema.TOTAL_LABEL
    assert abs(total["常住人口 residents"] - 1_038_643) < 1


def test_workbook_neutralises_formulas(tmp_path: Path) -> None:
    frame = pd.DataFrame({"name": ['=HYPERLINK("x")', "ok\x1b[2J"], "population": [1200.0, 3.0]})
    path = write_workbook(tmp_path / "w.xlsx", [("t", frame, "test")])
    ws = load_workbook(path)["t"]
    assert ws["A3"].value == '\'=HYPERLINK("x")'
    assert ws["A4"].value == "ok?[2J"  # a control character openpyxl cannot store
    assert ws["B3"].value == 1200
    assert ws["B3"].number_format == "#,##0"


def test_geopackage_layers_match_geojson(yuexiu_demo: Any) -> None:
    folder = Path(yuexiu_demo.files[schema.GPKG]).parent
    gpkg = folder / schema.GPKG
    layers = dict(pyogrio.list_layers(gpkg))
    expected = {
        "stations": schema.STATIONS_GEOJSON,
        "suggestions": schema.SUGGESTIONS_GEOJSON,
        "candidates": schema.CANDIDATES_GEOJSON,
        "isochrones": schema.ISOCHRONES_GEOJSON,
        "service_area": schema.SERVICE_AREA_GEOJSON,
        "gap_zones": schema.GAPS_GEOJSON,
        "districts": schema.DISTRICTS_GEOJSON,
        "subdistricts": schema.SUBDISTRICTS_GEOJSON,
    }
    assert set(layers) == {*expected, "units"}
    for layer, file in expected.items():
        n = pyogrio.read_info(gpkg, layer=layer)["features"]
        assert n == len(gpd.read_file(folder / file)), layer
    assert pyogrio.read_info(gpkg, layer="units")["features"] == len(
        gpd.read_parquet(folder / schema.UNITS_PARQUET)
    )
    with sqlite3.connect(gpkg) as db:
        described = dict(db.execute("select table_name, description from gpkg_contents"))
    assert described["gap_zones"] == "Clusters of residents beyond the walk 服务空白区"
    assert all(described[name] for name in layers)
