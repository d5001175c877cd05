"""Tests of layers.crs: GCJ-02/BD-09 conversions, CRS parsing, GeoSeries conversion, UTM zones."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import pyproj
import shapely
from geopandas import GeoSeries
from shapely.geometry import LineString, Point, Polygon

from layers import crs
from layers.crs import CrsSpec, parse_crs
from layers.errors import CrsMismatch, UnknownCrs

GEOD = pyproj.Geod(ellps="WGS84")
CONVERSIONS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    name: getattr(crs, name)
    for name in (
        "wgs84_to_gcj02",
        "gcj02_to_wgs84",
        "gcj02_to_bd09",
        "bd09_to_gcj02",
        "wgs84_to_bd09",
        "bd09_to_wgs84",
    )
}


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    _, _, dist = GEOD.inv(
        np.broadcast_to(lon1, np.shape(lon2)), np.broadcast_to(lat1, np.shape(lat2)), lon2, lat2
    )
    return np.asarray(dist)


INPUTS = {
    "tiananmen": (116.397455, 39.909187),
    "foshan_xiqiao": (112.97, 22.93),
    "shanghai": (121.4737, 31.2304),
    "shenzhen": (114.0579, 22.5431),
    "urumqi": (87.6168, 43.8256),
    "near_west_edge": (72.1, 39.0),  # 0.1 degree inside the out_of_china rectangle
}

# Reference outputs for INPUTS (each conversion applied to the input point itself), computed
# once with the PyPI package coord-convert 0.2.1 (module coord_convert.transform: wgs2gcj,
# wgs2bd, gcj2bd, bd2gcj, gcj2wgs, bd2wgs) and hard-coded; the project does not depend on it.
# Its bd2gcj is the one-step published inverse (up to ~0.2 m off), hence the 1 m tolerance.
COORD_CONVERT_0_2_1 = {
    "tiananmen": {
        "wgs84_to_gcj02": (116.40369862585906, 39.910590510518055),
        "wgs84_to_bd09": (116.4100711703736, 39.91692977802912),
        "gcj02_to_bd09": (116.40382757975885, 39.915530095070025),
        "bd09_to_gcj02": (116.39106467564507, 39.90287733625299),
        "gcj02_to_wgs84": (116.39121382726125, 39.90778575282302),
        "bd09_to_wgs84": (116.38482870226052, 39.90148026405025),
    },
    "foshan_xiqiao": {
        "wgs84_to_gcj02": (112.97515367551377, 22.927145624878733),
        "wgs84_to_bd09": (112.9817274173919, 22.932819006432453),
        "gcj02_to_bd09": (112.97656937367273, 22.935708484407854),
        "bd09_to_gcj02": (112.96345126077688, 22.924219264736866),
        "gcj02_to_wgs84": (112.96486209083722, 22.93286653959663),
        "bd09_to_wgs84": (112.95833286914646, 22.927104166838735),
    },
    "shanghai": {
        "wgs84_to_gcj02": (121.47822305927693, 31.22845773757727),
        "wgs84_to_bd09": (121.484781468503, 31.234310593689997),
        "gcj02_to_bd09": (121.48023740342614, 31.236334819793708),
        "bd09_to_gcj02": (121.46719514053864, 31.22434200031416),
        "gcj02_to_wgs84": (121.46916226346737, 31.232329239140196),
        "bd09_to_wgs84": (121.46263814267019, 31.22625750193731),
    },
    "shenzhen": {
        "wgs84_to_gcj02": (114.06301399856547, 22.54038281422246),
        "wgs84_to_bd09": (114.06956398703267, 22.546041559073544),
        "gcj02_to_bd09": (114.06445203727846, 22.548756891768786),
        "bd09_to_gcj02": (114.05135740819178, 22.537411660098435),
        "gcj02_to_wgs84": (114.05279233428674, 22.545826497020524),
        "bd09_to_wgs84": (114.0462599526365, 22.540152109519003),
    },
    "urumqi": {
        "wgs84_to_gcj02": (87.61964994946926, 43.82680539311119),
        "wgs84_to_bd09": (87.62609977081571, 43.83294979479328),
        "gcj02_to_bd09": (87.62323360789793, 43.83177625779309),
        "bd09_to_gcj02": (87.61039749966135, 43.819366821293485),
        "gcj02_to_wgs84": (87.61395281940398, 43.82439603947723),
        "bd09_to_wgs84": (87.60755516741703, 43.818162910089534),
    },
    "near_west_edge": {
        "wgs84_to_gcj02": (72.10429002366163, 39.00012572422211),
        "wgs84_to_bd09": (72.11071053949703, 39.00627295266965),
        "gcj02_to_bd09": (72.10644149991889, 39.00610814995612),
        "bd09_to_gcj02": (72.09352675437806, 38.99396352628945),
        "gcj02_to_wgs84": (72.09570450863522, 38.999874460167284),
        "bd09_to_wgs84": (72.08922524434725, 38.993843153772076),
    },
}

# A second independent implementation: PyPI eviltransform 0.1.1 (wgs2gcj and gcj2wgs_exact,
# which take and return (lat, lon); swapped here to (lon, lat)). Its exact inverse stops at
# ~0.1 m and its constants differ in the last digits (~1 cm).
EVILTRANSFORM_0_1_1 = {
    "tiananmen": {
        "wgs84_to_gcj02": (116.4036987315814, 39.91059053428348),
        "gcj02_to_wgs84": (116.39121415527343, 39.90778624316407),
    },
    "foshan_xiqiao": {
        "wgs84_to_gcj02": (112.97515376278015, 22.927145576546046),
        "gcj02_to_wgs84": (112.96486206054689, 22.93286743164063),
    },
    "shanghai": {
        "wgs84_to_gcj02": (121.47822313586518, 31.228457704689244),
        "gcj02_to_wgs84": (121.46916264648436, 31.232329931640628),
    },
    "shenzhen": {
        "wgs84_to_gcj02": (114.06301408516, 22.54038276821278),
        "gcj02_to_wgs84": (114.05279135742188, 22.545825830078122),
    },
    "urumqi": {
        "wgs84_to_gcj02": (87.61964999772701, 43.82680541352192),
        "gcj02_to_wgs84": (87.61395209960935, 43.82439516601562),
    },
    "near_west_edge": {
        "wgs84_to_gcj02": (72.10429009630394, 39.00012572635098),
        "gcj02_to_wgs84": (72.09570434570313, 38.99987426757812),
    },
}

REFERENCE_CASES = [
    pytest.param(source, point, conversion, expected, id=f"{source}-{point}-{conversion}")
    for source, table in (
        ("coord-convert", COORD_CONVERT_0_2_1),
        ("eviltransform", EVILTRANSFORM_0_1_1),
    )
    for point, conversions in table.items()
    for conversion, expected in conversions.items()
]


@pytest.mark.parametrize(("source", "point", "conversion", "expected"), REFERENCE_CASES)
def test_matches_independent_implementation_within_1m(source, point, conversion, expected):
    lon, lat = CONVERSIONS[conversion](*INPUTS[point])
    assert metres(expected[0], expected[1], lon, lat) < 1.0


def test_forward_formulas_match_coord_convert_to_the_millimetre():
    # The closed-form forward transforms are deterministic: same formula, same numbers.
    for point, conversions in COORD_CONVERT_0_2_1.items():
        for conversion in ("wgs84_to_gcj02", "wgs84_to_bd09", "gcj02_to_bd09"):
            lon, lat = CONVERSIONS[conversion](*INPUTS[point])
            assert metres(*conversions[conversion], lon, lat) < 1e-3, (point, conversion)


@pytest.mark.parametrize(
    ("conversion", "expected"),
    [
        # The example quoted in the coordTransform README for the input (116.404, 39.915).
        ("gcj02_to_bd09", (116.41036949371029, 39.92133699351021)),
        ("bd09_to_gcj02", (116.39762729119315, 39.90865673957631)),
        ("wgs84_to_gcj02", (116.41024449916938, 39.91640428150164)),
    ],
)
def test_coordtransform_readme_example(conversion, expected):
    lon, lat = CONVERSIONS[conversion](116.404, 39.915)
    # bd09_to_gcj02 here is the exact inverse; the README's one-step inverse is ~5 cm off.
    assert metres(*expected, lon, lat) < 0.1


def china_grid(n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240601)
    return rng.uniform(73.5, 135.0, n), rng.uniform(18.0, 53.5, n)


@pytest.mark.parametrize(
    ("forward", "inverse"),
    [
        ("wgs84_to_gcj02", "gcj02_to_wgs84"),
        ("wgs84_to_bd09", "bd09_to_wgs84"),
        ("gcj02_to_bd09", "bd09_to_gcj02"),
    ],
)
def test_round_trip_within_1cm(forward, inverse):
    lon, lat = china_grid()
    back_lon, back_lat = CONVERSIONS[inverse](*CONVERSIONS[forward](lon, lat))
    assert back_lon.shape == lon.shape
    assert metres(lon, lat, back_lon, back_lat).max() < 0.01


def test_inverse_round_trip_within_1cm():
    lon, lat = china_grid()
    for forward, inverse in (
        ("gcj02_to_wgs84", "wgs84_to_gcj02"),
        ("bd09_to_gcj02", "gcj02_to_bd09"),
    ):
        again = CONVERSIONS[inverse](*CONVERSIONS[forward](lon, lat))
        assert metres(lon, lat, *again).max() < 0.01


def test_offsets_are_tens_to_hundreds_of_metres_inside_china():
    lon, lat = 116.397455, 39.909187
    assert metres(lon, lat, *crs.wgs84_to_gcj02(lon, lat)) > 50
    assert metres(lon, lat, *crs.gcj02_to_bd09(lon, lat)) > 50
    grid = china_grid(500)
    shift = metres(*grid, *crs.wgs84_to_gcj02(*grid))
    assert shift.min() > 1 and shift.max() < 1500


@pytest.mark.parametrize("conversion", sorted(CONVERSIONS))
def test_points_outside_china_unchanged(conversion):
    # London, Sydney, New York, and just west of the out_of_china rectangle.
    lon = np.array([-0.1276, 151.2093, -74.006, 71.9])
    lat = np.array([51.5072, -33.8688, 40.7128, 39.0])
    out_lon, out_lat = CONVERSIONS[conversion](lon, lat)
    np.testing.assert_array_equal(out_lon, lon)
    np.testing.assert_array_equal(out_lat, lat)


def test_scalars_and_shapes():
    lon, lat = crs.wgs84_to_gcj02(116.4, 39.9)
    assert np.ndim(lon) == np.ndim(lat) == 0
    assert 116.4 < float(lon) < 116.41 and 39.9 < float(lat) < 39.91
    grid = np.full((3, 4), 116.4), np.full((3, 4), 39.9)
    out_lon, out_lat = crs.bd09_to_wgs84(*grid)
    assert out_lon.shape == out_lat.shape == (3, 4)
    assert np.allclose(out_lon, crs.bd09_to_wgs84(116.4, 39.9)[0])


@pytest.mark.parametrize(
    ("text", "kind", "epsg"),
    [
        (None, "epsg", 4326),
        ("wgs84", "epsg", 4326),
        (" WGS-84 ", "epsg", 4326),
        ("EPSG:4326", "epsg", 4326),
        ("epsg : 4326", "epsg", 4326),
        ("4326", "epsg", 4326),
        ("CGCS2000", "epsg", 4490),
        ("EPSG:4490", "epsg", 4490),
        ("gcj02", "gcj02", 4326),
        ("GCJ-02", "gcj02", 4326),
        ("AMap", "gcj02", 4326),
        ("gaode", "gcj02", 4326),
        ("Tencent", "gcj02", 4326),
        ("高德", "gcj02", 4326),
        ("腾讯", "gcj02", 4326),
        (" 火星 ", "gcj02", 4326),
        ("bd09", "bd09", 4326),
        ("BD-09", "bd09", 4326),
        ("Baidu", "bd09", 4326),
        ("百度", "bd09", 4326),
        ("EPSG:3857", "epsg", 3857),
        ("epsg:32649", "epsg", 32649),
    ],
)
def test_parse_crs_aliases(text, kind, epsg):
    spec = parse_crs(text)
    assert (spec.kind, spec.epsg) == (kind, epsg)
    assert spec.label


def test_parse_crs_labels_and_geographic():
    assert parse_crs("wgs84") == parse_crs("EPSG:4326")
    assert parse_crs("wgs84").label == "WGS84 (EPSG:4326)"
    assert parse_crs("gaode").label == "GCJ-02（高德/腾讯）"
    assert parse_crs("baidu").label == "BD-09（百度）"
    assert parse_crs("cgcs2000").label == "CGCS2000 (EPSG:4490)"
    assert "3857" in parse_crs("EPSG:3857").label
    assert parse_crs("gcj02").is_geographic and parse_crs("bd09").is_geographic
    assert parse_crs("EPSG:4490").is_geographic
    assert not parse_crs("EPSG:3857").is_geographic
    assert not parse_crs("EPSG:32649").is_geographic


@pytest.mark.parametrize(
    ("text", "pattern"),
    [("foo", "foo"), ("EPSG:999999", "EPSG:999999"), ("", "无法识别的坐标系"), ("wgs85", "wgs85")],
)
def test_parse_crs_errors(text, pattern):
    with pytest.raises(UnknownCrs, match=pattern) as info:
        parse_crs(text)
    assert info.value.loc == ("crs",)
    assert "EPSG:4326" in info.value.msg and "GCJ-02" in info.value.msg


def sample_series(crs_=None) -> GeoSeries:
    hole = [(113.0, 23.0), (113.01, 23.0), (113.01, 23.01), (113.0, 23.01)]
    shell = [(112.99, 22.99), (113.02, 22.99), (113.02, 23.02), (112.99, 23.02)]
    return GeoSeries(
        [
            Point(112.97, 22.93),
            Polygon(shell, [hole]),
            LineString([(116.39, 39.90), (116.40, 39.91), (116.41, 39.905)]),
        ],
        crs=crs_,
    )


@pytest.mark.parametrize(
    ("spec_text", "inbound", "outbound"),
    [("gcj02", "gcj02_to_wgs84", "wgs84_to_gcj02"), ("bd09", "bd09_to_wgs84", "wgs84_to_bd09")],
)
def test_to_and_from_wgs84_shift_every_geometry_type(spec_text, inbound, outbound):
    spec = parse_crs(spec_text)
    src = sample_series()
    coords = shapely.get_coordinates(src.values)
    for func, name in ((crs.to_wgs84, inbound), (crs.from_wgs84, outbound)):
        out = func(src, spec)
        assert out.crs == pyproj.CRS.from_epsg(4326)
        assert list(out.geom_type) == ["Point", "Polygon", "LineString"]
        assert len(out.iloc[1].interiors) == 1
        expected = np.column_stack(CONVERSIONS[name](coords[:, 0], coords[:, 1]))
        np.testing.assert_allclose(
            shapely.get_coordinates(out.values), expected, rtol=0, atol=1e-12
        )
        assert metres(coords[:, 0], coords[:, 1], *expected.T).min() > 50
    back = crs.to_wgs84(crs.from_wgs84(src, spec), spec)
    assert (
        metres(
            *shapely.get_coordinates(src.values).T, *shapely.get_coordinates(back.values).T
        ).max()
        < 0.01
    )


def test_to_wgs84_keeps_z_and_index():
    src = GeoSeries([Point(116.4, 39.9, 42.0)], index=["a"])
    out = crs.to_wgs84(src, parse_crs("gcj02"))
    assert out.index.tolist() == ["a"]
    assert out.iloc[0].has_z and out.iloc[0].z == 42.0


def test_to_wgs84_from_utm_matches_pyproj():
    xy = [(500000.0, 2536000.0), (480123.4, 2541000.5)]
    src = GeoSeries([Point(x, y) for x, y in xy])
    out = crs.to_wgs84(src, parse_crs("EPSG:32649"))
    assert out.crs == pyproj.CRS.from_epsg(4326)
    lon, lat = pyproj.Transformer.from_crs(32649, 4326, always_xy=True).transform(*np.array(xy).T)
    np.testing.assert_allclose(
        shapely.get_coordinates(out.values), np.column_stack([lon, lat]), atol=1e-9
    )
    assert 110 < lon[0] < 112 and 22 < lat[0] < 24  # really moved into degrees near Foshan
    again = crs.from_wgs84(out, parse_crs("EPSG:32649"))
    assert again.crs == pyproj.CRS.from_epsg(32649)
    np.testing.assert_allclose(shapely.get_coordinates(again.values), np.array(xy), atol=1e-4)


def test_wgs84_and_cgcs2000_are_relabelled_without_shift():
    src = sample_series()
    coords = shapely.get_coordinates(src.values)
    for text in ("wgs84", "cgcs2000"):
        out = crs.to_wgs84(src, parse_crs(text))
        assert out.crs == pyproj.CRS.from_epsg(4326)
        np.testing.assert_array_equal(shapely.get_coordinates(out.values), coords)
    exported = crs.from_wgs84(src.set_crs(4326), parse_crs("cgcs2000"))
    assert exported.crs == pyproj.CRS.from_epsg(4490)
    np.testing.assert_array_equal(shapely.get_coordinates(exported.values), coords)


def test_from_wgs84_to_web_mercator():
    out = crs.from_wgs84(
        GeoSeries([Point(0.0, 0.0), Point(180.0, 0.0)], crs=4326), parse_crs("EPSG:3857")
    )
    assert out.crs == pyproj.CRS.from_epsg(3857)
    assert out.iloc[1].x == pytest.approx(20037508.342789244)


def test_declared_crs_must_match_the_data_crs():
    with pytest.raises(CrsMismatch) as info:
        crs.to_wgs84(sample_series(crs_=3857), parse_crs("gcj02"))
    assert info.value.loc == ("crs",)
    with pytest.raises(CrsMismatch):
        crs.from_wgs84(sample_series(crs_=3857), parse_crs("bd09"))


def test_lonlat_problems():
    lon = np.array([116.4, 12_700_000.0, 39.9, -180.0, 180.5, np.nan])
    lat = np.array([39.9, 4_400_000.0, 116.4, 90.0, 0.0, 10.0])
    np.testing.assert_array_equal(
        crs.lonlat_problems(lon, lat), [False, True, True, False, True, True]
    )


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (112.97, 22.93, 32649),  # Foshan
        (116.397455, 39.909187, 32650),  # Beijing
        (-0.1276, 51.5072, 32630),  # London
        (151.2093, -33.8688, 32756),  # Sydney
    ],
)
def test_metric_crs_is_the_utm_zone(lon, lat, epsg):
    geoms = GeoSeries([Point(lon - 0.01, lat - 0.01), Point(lon + 0.01, lat + 0.01)], crs=4326)
    assert crs.metric_crs(geoms) == pyproj.CRS.from_epsg(epsg)


def test_to_metric_gives_metres():
    geoms = GeoSeries([Point(116.39, 39.90), Point(116.40, 39.91)], crs=4326)
    metric = crs.to_metric(geoms)
    assert metric.crs == pyproj.CRS.from_epsg(32650)
    expected = metres(116.39, 39.90, 116.40, 39.91)
    assert metric.iloc[0].distance(metric.iloc[1]) == pytest.approx(float(expected), rel=1e-3)


def test_metric_crs_rejects_projected_input():
    with pytest.raises(CrsMismatch):
        crs.metric_crs(GeoSeries([Point(500000.0, 2536000.0)], crs=32649))


def test_crsspec_is_frozen():
    spec = parse_crs("gcj02")
    assert isinstance(spec, CrsSpec)
    with pytest.raises(AttributeError):
        spec.epsg = 3857  # type: ignore[misc]


def test_crs84_counts_as_wgs84():
    src = GeoSeries([Point(116.4, 39.9)], crs="OGC:CRS84")
    out = crs.to_wgs84(src, parse_crs("gcj02"))
    assert out.crs == pyproj.CRS.from_epsg(4326)
    assert metres(116.4, 39.9, out.iloc[0].x, out.iloc[0].y) > 50


def test_metric_crs_rejects_empty_and_swapped():
    with pytest.raises(CrsMismatch, match="投影带"):
        crs.metric_crs(GeoSeries([], crs=4326))
    with pytest.raises(CrsMismatch, match="投影带"):
        crs.metric_crs(GeoSeries([Point(39.9, 116.4)]))


@pytest.mark.parametrize(
    ("inside", "outside", "far"),
    [
        ((72.01, 30.0), (72.0, 30.0), (71.95, 30.0)),  # west edge 72.004
        ((137.83, 35.0), (137.84, 35.0), (137.9, 35.0)),  # east edge 137.8347
        ((110.0, 0.83), (110.0, 0.82), (110.0, 0.77)),  # south edge 0.8293
        ((125.0, 55.82), (125.0, 55.83), (125.0, 55.88)),  # north edge 55.8271
    ],
)
def test_out_of_china_rectangle_edges(inside, outside, far):
    assert metres(*inside, *crs.wgs84_to_gcj02(*inside)) > 1
    assert metres(*inside, *crs.gcj02_to_bd09(*inside)) > 1
    for name in ("wgs84_to_gcj02", "gcj02_to_bd09", "wgs84_to_bd09"):
        lon, lat = CONVERSIONS[name](*outside)
        assert (float(lon), float(lat)) == outside, name
    # Just outside, an inverse may legitimately land inside (the forward image of an inside
    # point can cross the edge); well beyond the offsets every conversion is the identity.
    for name, conversion in CONVERSIONS.items():
        lon, lat = conversion(*far)
        assert (float(lon), float(lat)) == far, name
