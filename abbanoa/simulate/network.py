"""The network model: EPANET Net3 (shipped with wntr) split into two DMAs with their sensors.

Net3 is a real-world-derived model (two sources, three tanks, two pumps). Two pockets of it
with few connecting pipes become the districts; every pipe crossing a district's edge, and
the pipe to its tank, carries a district meter, so the meters see exactly what enters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files

import networkx as nx

# District definitions: a seed junction and the links that cut the district from the rest.
# Names echo the real Selargius topology (DESIGN.md, "Data contract").
DISTRICT_SPECS = (
    {
        "dma_id": "DMA-SEL",
        "name": "Selargius",
        "prefix": "SEL",
        "seed": "20",
        "cut_links": {
            "329": "Cuccuru Linu reservoir feed",
            "117": "Via Sant'Anna inlet",
            "119": "Via Seneca inlet",
            "177": "Via Peretti inlet",
        },
        "tank": ("3", "20", "Serbatoio Selargius"),  # tank, its link, name
    },
    {
        "dma_id": "DMA-QRT",
        "name": "Quartucciu",
        "prefix": "QRT",
        "seed": "50",
        "cut_links": {"238": "Via Marconi feed"},
        "tank": ("2", "50", "Serbatoio Quartucciu"),
    },
)

# Net3 drawing coordinates (x 8..45, y 0..31) mapped onto the Selargius / Quartucciu area.
_LON0, _LON_PER_X = 9.130, 0.0014
_LAT0, _LAT_PER_Y = 39.236, 0.00105


@dataclass
class Sensor:
    node_id: str
    name: str
    node_type: str  # flow_meter | pressure_logger | tank | quality_probe
    dma_id: str
    element: str  # EPANET link (flow meters) or node (the rest)
    latitude: float
    longitude: float
    metrics: tuple[str, ...]
    orientation: int = 1  # flow meters: +1 when the meter's positive flow is the link's direction


@dataclass
class District:
    dma_id: str
    name: str
    junctions: set[str]
    meters: list[tuple[str, str, int]] = field(default_factory=list)  # (link, node_id, into-DMA sign)
    leak_junctions: set[str] = field(default_factory=set)  # the labelled leaks
    background_junctions: set[str] = field(default_factory=set)  # background leakage, always on


@dataclass
class Network:
    wn: object  # wntr.network.WaterNetworkModel
    districts: dict[str, District]
    sensors: list[Sensor]
    name: str = "demo"  # "demo": Net3 as Selargius and Quartucciu; else the network's file stem
    to_latlon: object = None  # drawing (x, y) -> (latitude, longitude)


def to_latlon(x: float, y: float) -> tuple[float, float]:
    """Net3 drawing coordinates -> (latitude, longitude) around Selargius."""
    return round(_LAT0 + y * _LAT_PER_Y, 6), round(_LON0 + x * _LON_PER_X, 6)


def load_net3():
    import wntr

    return wntr.network.WaterNetworkModel(str(files("wntr") / "library" / "networks" / "Net3.inp"))


def _district_junctions(wn, seed: str, cut_links: set[str]) -> set[str]:
    graph = nx.Graph()
    junctions = set(wn.junction_name_list)
    for name, link in wn.links():
        a, b = link.start_node_name, link.end_node_name
        if name not in cut_links and a in junctions and b in junctions:
            graph.add_edge(a, b)
    return set(nx.node_connected_component(graph, seed))


def build_network() -> Network:
    """Load Net3 and place the districts and their sensors (node ids are stable)."""
    wn = load_net3()
    districts: dict[str, District] = {}
    sensors: list[Sensor] = []
    for spec in DISTRICT_SPECS:
        tank, tank_link, tank_name = spec["tank"]
        members = _district_junctions(wn, spec["seed"], set(spec["cut_links"]))
        district = District(spec["dma_id"], spec["name"], members)
        # Every link with exactly one end in the district is metered.
        boundary = [
            (name, link)
            for name, link in wn.links()
            if (link.start_node_name in members) != (link.end_node_name in members)
        ]
        expected = set(spec["cut_links"]) | {tank_link}
        if {name for name, _ in boundary} != expected:
            raise RuntimeError(f"{spec['name']}: boundary {sorted(n for n, _ in boundary)} != {sorted(expected)}")
        prefix = spec["prefix"]
        for i, (name, link) in enumerate(sorted(boundary), start=1):
            into = 1 if link.end_node_name in members else -1
            label = spec["cut_links"].get(name) or f"{tank_name} outlet"
            inside = link.end_node_name if into == 1 else link.start_node_name
            lat, lon = to_latlon(*wn.get_node(inside).coordinates)
            node_id = f"{prefix}-FM-{i:02d}"
            sensors.append(
                Sensor(
                    node_id,
                    f"{spec['name']} {label}",
                    "flow_meter",
                    spec["dma_id"],
                    name,
                    lat,
                    lon,
                    ("flow_rate", "total_flow", "temperature"),
                )
            )
            district.meters.append((name, node_id, into))
        lat, lon = to_latlon(*wn.get_node(tank).coordinates)
        sensors.append(Sensor(f"{prefix}-TK-01", tank_name, "tank", spec["dma_id"], tank, lat, lon, ("level",)))
        districts[spec["dma_id"]] = district
    for district, spec in zip(districts.values(), DISTRICT_SPECS, strict=True):
        sensors.extend(_field_sensors(wn, district, spec["prefix"]))
    return Network(wn, districts, sensors, name="demo", to_latlon=to_latlon)


def _field_sensors(wn, district: District, prefix: str) -> list[Sensor]:
    """Pressure loggers (highest point, lowest point, centre) and quality probes (near, far)."""
    ranked = sorted(district.junctions, key=lambda j: (wn.get_node(j).elevation, j))
    inlet_nodes = [
        n
        for link, _, _ in district.meters
        for n in (wn.get_link(link).start_node_name, wn.get_link(link).end_node_name)
        if n in district.junctions
    ]
    xs = [wn.get_node(j).coordinates for j in sorted(district.junctions)]
    cx, cy = sum(x for x, _ in xs) / len(xs), sum(y for _, y in xs) / len(xs)
    centre = min(
        district.junctions,
        key=lambda j: (
            (wn.get_node(j).coordinates[0] - cx) ** 2 + (wn.get_node(j).coordinates[1] - cy) ** 2,
            j,
        ),
    )
    far = max(
        district.junctions,
        key=lambda j: (
            min(
                (wn.get_node(j).coordinates[0] - wn.get_node(i).coordinates[0]) ** 2
                + (wn.get_node(j).coordinates[1] - wn.get_node(i).coordinates[1]) ** 2
                for i in inlet_nodes
            ),
            j,
        ),
    )
    picks = [
        ("PL", 1, ranked[-1], "pressure_logger", "critical point (highest)", ("pressure",)),
        ("PL", 2, ranked[0], "pressure_logger", "low zone", ("pressure",)),
        ("PL", 3, centre, "pressure_logger", "centre", ("pressure",)),
        ("QP", 1, sorted(inlet_nodes)[0], "quality_probe", "inlet", _QUALITY),
        ("QP", 2, far, "quality_probe", "network end", _QUALITY),
    ]
    out = []
    for kind, n, junction, node_type, where, metrics in picks:
        lat, lon = to_latlon(*wn.get_node(junction).coordinates)
        name = f"{district.name} {node_type.replace('_', ' ')} {where}"
        out.append(Sensor(f"{prefix}-{kind}-{n:02d}", name, node_type, district.dma_id, junction, lat, lon, metrics))
    return out


_QUALITY = ("free_chlorine", "turbidity", "ph", "conductivity", "temperature")
