"""Synthetic communities and cities (streets, compounds, buildings, lanes, gates) for demos.

The generator runs in stages, one module each; the public names are re-exported here:

- :mod:`layers.synth.base`: array types, compound kinds, layout numbers, word lists and
  :class:`SynthCity`;
- :mod:`layers.synth.helpers`: small helpers (apportioning, ranks, names and codes);
- :mod:`layers.synth.seeds`: roads and the seed points of the blocks;
- :mod:`layers.synth.mesh`: the block mesh (Voronoi blocks and street ridges);
- :mod:`layers.synth.compounds`: compounds and their buildings;
- :mod:`layers.synth.lanes`: lanes, door paths and gates inside compounds;
- :mod:`layers.synth.streets`: gate connectors and named streets;
- :mod:`layers.synth.assembly`: the finished layers from a laid-out plan;
- :mod:`layers.synth.generators`: :func:`generate_community` and :func:`generate_city`.
"""

from __future__ import annotations

from layers.synth.base import QIAOHUA, VENUE_ORDER, XIQIAO_CENTER, XIQIAO_STREET, SynthCity
from layers.synth.generators import generate_city, generate_community

__all__ = [
    "QIAOHUA",
    "VENUE_ORDER",
    "XIQIAO_CENTER",
    "XIQIAO_STREET",
    "SynthCity",
    "generate_city",
    "generate_community",
]
