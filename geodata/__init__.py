"""The map: road networks from OSM, tag parsing, restriction layers, map matching and routing.

Knows nothing of vehicles, waybills or HTTP.
"""
