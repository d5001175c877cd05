"""A generated place made ready for the analyses: the set-up the benchmarks and the tests share.

``layers.synth`` generates the demo community or a district of ``n_buildings`` in WGS84;
:func:`generate` wraps it in a :class:`City`, which projects the layers to metres (the given
CRS, or the buildings' UTM zone), gives each building its ``building_id`` and the compound
holding its representative point, and builds the walking network
(``layers.network.build_network`` with the barriers and the gates) and its graph
(``gis_api.analysis.walknet.build_graph`` with every compound walled). Each part is made on
first use and kept, so a benchmark times the parts it asks for.

Used by bench/bench_service_circle.py, bench/bench_venues.py, bench/bench_lead_zones.py and
the analysis tests on a generated place (tests/analysis/); plain Python, no pytest.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any

import numpy as np

import geopandas as gpd

from gis_api.analysis import walknet
from layers.network import WalkNetwork, build_network
from layers.synth import SynthCity, generate_city, generate_community


def generate(n_buildings: int | None = None, *, seed: int | None = None, crs: Any = None) -> City:
    """The demo community (``n_buildings`` None) or a district of ``n_buildings`` buildings.

    ``seed`` None keeps the generator's own default; ``crs`` None projects to the UTM zone
    of the buildings.
    """
    kwargs = {} if seed is None else {"seed": seed}
    if n_buildings is None:
        return City(generate_community(**kwargs), crs)
    return City(generate_city(n_buildings=n_buildings, **kwargs), crs)


class City:
    """A generated place (:class:`layers.synth.SynthCity`), projected, as the analyses take it."""

    def __init__(self, place: SynthCity, crs: Any = None) -> None:
        self.place = place
        self._crs = crs

    @cached_property
    def crs(self) -> Any:
        """The metric CRS: as given, or the UTM zone of the buildings."""
        if self._crs is not None:
            return self._crs
        return self.place.layers["buildings"].estimate_utm_crs()

    @cached_property
    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Every layer of the place, in :attr:`crs`."""
        return {name: frame.to_crs(self.crs) for name, frame in self.place.layers.items()}

    @cached_property
    def ways(self) -> gpd.GeoDataFrame:
        """The walkable ways, in :attr:`crs`."""
        return self.place.ways.to_crs(self.crs)

    @cached_property
    def buildings(self) -> gpd.GeoDataFrame:
        """The buildings (index 0..n-1) with ``building_id`` (their code) and ``compound``.

        A building's compound is the compound polygon holding its representative point (the
        first one, should two hold it), missing outside every compound.
        """
        b = self.layers["buildings"].reset_index(drop=True)
        compounds = self.layers["compounds"]
        pts = gpd.GeoDataFrame(geometry=b.geometry.representative_point(), crs=b.crs)
        hit = gpd.sjoin(pts, compounds[["code", "geometry"]], predicate="within", how="left")
        hit = hit[~hit.index.duplicated()]
        b["building_id"] = b["code"]
        b["compound"] = hit["code"].reindex(b.index)
        return b

    @cached_property
    def walled(self) -> gpd.GeoDataFrame:
        """The compounds as walled areas: ``compound`` (their code) and ``geometry``."""
        return self.layers["compounds"].rename(columns={"code": "compound"})[
            ["compound", "geometry"]
        ]

    @cached_property
    def network(self) -> WalkNetwork:
        """The walking network of the ways, cut by the barriers, passing through the gates."""
        return build_network(
            self.ways, barriers=self.layers["barriers"], gates=self.layers["gates"]
        )

    @cached_property
    def edges(self) -> gpd.GeoDataFrame:
        """The network's edges, their gate's code as ``gate`` (as the service circle takes them)."""
        return self.network.edges.rename(columns={"gate_code": "gate"})

    @cached_property
    def closed_gates(self) -> frozenset[str]:
        """The gates the generator left shut that the network passes through."""
        gates = self.layers["gates"]
        shut = frozenset(gates.loc[~gates["is_open"], "code"])
        return shut & frozenset(self.edges["gate"].dropna())

    def graph(self, *, closed: Iterable[str] = ()) -> walknet.WalkGraph:
        """The walking graph of :attr:`edges`, every compound walled, the ``closed`` gates shut."""
        e = self.edges
        return walknet.build_graph(
            e["source"].to_numpy(),
            e["target"].to_numpy(),
            e["length_m"].to_numpy(),
            np.asarray(e.geometry.array, dtype=object),
            gate=e["gate"].to_numpy(dtype=object),
            closed_gates=closed,
            walled=np.asarray(self.layers["compounds"].geometry.array, dtype=object),
        )
