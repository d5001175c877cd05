"""The glue between the store and the analyses, one module per analysis; routes and CLI call it.

The path of every analysis, from the store to the user:

1. ``layers.queries.analysis_inputs`` reads one community's layers once (WGS84).
2. :func:`common.project` projects them to the community's UTM zone and chooses the
   :class:`common.Walker` once: the walking network, or straight distance x 1.3 where the
   community has none (every answer then says it is approximate).
3. ``<analysis>.run(...)`` calls the pure analysis in :mod:`gis_api.analysis` and returns a
   typed result; analysis errors become one :class:`common.AnalysisError` that keeps their
   ``type`` and ``loc``.
4. ``<analysis>.to_json(result)`` is what the API answers, ``to_table(result)`` what the CLI
   and the exports write; writes (saving lead zones) go through the module too.
5. The pages (``web_map``) draw the JSON.

Modules: :mod:`.common`, :mod:`.service_circle`, :mod:`.venues`, :mod:`.lead_zones`.
"""
