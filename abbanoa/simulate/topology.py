"""The simulated network's EPANET topology as GeoJSON (`topology.geojson` in the output
directory): one LineString per pipe in longitude/latitude (the same mapping as the sensors),
with its district where both ends lie in one, its length and diameter. The dashboard's map
draws it once loaded (abbanoa.repository.network.store_topology)."""

from __future__ import annotations

import json
from pathlib import Path


def topology(network) -> dict:
    """A GeoJSON FeatureCollection of the network's pipes."""
    wn = network.wn
    district_of = {j: d for d, x in network.districts.items() for j in x.junctions}
    features = []
    for name, link in wn.links():
        a, b = wn.get_node(link.start_node_name), wn.get_node(link.end_node_name)
        points = [a.coordinates, *getattr(link, "vertices", []), b.coordinates]
        coords = []
        for x, y in points:
            lat, lon = network.to_latlon(x, y)
            coords.append([lon, lat])
        da, db = district_of.get(link.start_node_name), district_of.get(link.end_node_name)
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": coords},
                "properties": {
                    "link_id": name,
                    "district_id": da if da == db else None,
                    "kind": link.link_type.lower(),
                    "length_m": round(float(getattr(link, "length", 0.0) or 0.0), 1),
                    "diameter_mm": round(float(getattr(link, "diameter", 0.0) or 0.0) * 1000, 0),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def write_topology(out: Path, network) -> None:
    (out / "topology.geojson").write_text(json.dumps(topology(network)), encoding="utf-8")
