"""Rebuild the Yuexiu sample shipped in ``skillcircle/data/yuexiu/`` from the shared data folder.

Usage: ``SKILLCIRCLE_DATA=../shared/data python scripts/make_yuexiu_sample.py``

The layers are converted, not copied: only the columns skillcircle reads are kept, roads go to
GeoParquet (zstd), polygons to a GeoPackage without spatial index (it keeps the two empty
街道 geometries empty, as FlatGeobuf would not), and the WorldPop raster is re-encoded with DEFLATE
and a horizontal predictor. Geometries, CRS, raster values, transform and nodata are unchanged,
so the demo gives the same figures on the sample as on the shared data
(``tests/inputs/test_datasets.py`` checks it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio

OUT = Path(__file__).resolve().parents[1] / "skillcircle" / "data" / "yuexiu"

#: Shared layer → (sample file, columns kept).
LAYERS = {
    "roads_osm.gpkg": ("roads.parquet", ["osm_id", "osm_type", "highway", "name"]),
    "subdistricts_osm.gpkg": ("subdistricts.gpkg", ["osm_id", "name", "ref:admin:CN:nbs"]),
    "boundary_osm.gpkg": ("boundary.gpkg", ["osm_id", "name"]),
}


def main() -> int:
    root = os.environ.get("SKILLCIRCLE_DATA")
    if not root:
        sys.stderr.write("set SKILLCIRCLE_DATA to the shared data folder\n")
        return 2
    src = Path(root) / "yuexiu"
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (target, columns) in LAYERS.items():
        layer = gpd.read_file(src / name)
        kept = layer[[*columns, layer.geometry.name]]
        path = OUT / target
        if target.endswith(".parquet"):
            kept.to_parquet(path, compression="zstd", compression_level=19, index=False)
        else:
            path.unlink(missing_ok=True)
            kept.to_file(path, driver="GPKG", SPATIAL_INDEX="NO")
        print(f"{path.name}: {len(kept)} rows, {path.stat().st_size} bytes")

    with rasterio.open(src / "worldpop.tif") as raster:
        values = raster.read(1)
        profile = raster.profile
        tags = raster.tags()
    profile.update(compress="deflate", predictor=2, zlevel=9, tiled=False, blockysize=None)
    profile.pop("blockxsize", None)
    path = OUT / "worldpop.tif"
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)
        dst.update_tags(**tags)
    with rasterio.open(path) as check:
        if not np.array_equal(check.read(1), values):  # pragma: no cover - a GDAL bug
            sys.stderr.write("re-encoded raster differs from the source\n")
            return 1
    print(f"{path.name}: {values.shape}, {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
