"""Any EPANET network as districts with sensors: the networks WNTR ships (Net1, Net2, Net3,
Net6, ky4, ky10) by name, or a utility's `.inp` file by path.

- Districts from the topology: Louvain communities of the junction graph (networkx),
  merged smallest-first into their best-connected neighbour until `districts` remain, or
  a given partition (CSV `junction,dma_id`). Tanks and reservoirs stay outside: they feed.
- Every link with exactly one end in a district carries a district meter (a link between
  two districts is one meter, in both districts' balances with opposite signs), so the
  meters see all that enters or leaves.
- Pressure loggers at `logger_density` of each district's junctions (at least one: the
  highest junction, the critical point, first), spread by farthest-point sampling; quality
  probes at `probe_density` (at least one, at the junction nearest an inlet first); a level
  sensor on every tank.
- The drawing's coordinates are mapped onto an area near Cagliari (a box of about 10 km
  on its longer side), keeping the aspect.
"""

from __future__ import annotations

import csv
from importlib.resources import files
from pathlib import Path

import networkx as nx

from abbanoa.errors import AbbanoaError
from abbanoa.simulate.network import _QUALITY, District, Network, Sensor

SHIPPED = ("Net1", "Net2", "Net3", "Net6", "ky4", "ky10")
_LAT0, _LON0, _SPAN_DEG = 39.20, 9.08, 0.09  # south-west corner and longer side of the box


def resolve(name_or_path: str) -> Path:
    """A shipped network's name (case-insensitive, with or without .inp) or an .inp path."""
    path = Path(name_or_path)
    if path.suffix.lower() == ".inp" and path.is_file():
        return path
    library = files("wntr") / "library" / "networks"
    for name in SHIPPED:
        if name.lower() == path.stem.lower() and not path.parent.parts:
            return Path(str(library / f"{name}.inp"))
    raise AbbanoaError(f"--network {name_or_path!r}: not an .inp file, nor one of {', '.join(SHIPPED)}")


def load(path: Path):
    import wntr

    try:
        return wntr.network.WaterNetworkModel(str(path))
    except Exception as exc:  # the EPANET reader raises many kinds for a bad file
        raise AbbanoaError(f"{path}: not a readable EPANET network: {type(exc).__name__}: {exc}") from None


def default_districts(junctions: int) -> int:
    """About 60 junctions a district, between 1 and 12."""
    return max(1, min(12, round(junctions / 60)))


def partition(wn, districts: int, seed: int) -> dict[str, str]:
    """junction -> district index ('01', '02', ...) from the junction graph's communities."""
    graph = nx.Graph()
    junctions = set(wn.junction_name_list)
    graph.add_nodes_from(sorted(junctions))
    for _, link in wn.links():
        a, b = link.start_node_name, link.end_node_name
        if a in junctions and b in junctions and a != b:
            graph.add_edge(a, b)
    groups = [set(c) for c in nx.community.louvain_communities(graph, seed=seed)]
    groups.sort(key=lambda g: (-len(g), min(g)))
    while len(groups) > max(districts, 1):
        small = min(range(len(groups)), key=lambda i: (len(groups[i]), min(groups[i])))
        links = {}
        for i, other in enumerate(groups):
            if i != small:
                links[i] = nx.cut_size(graph, groups[small], other)
        # the best-connected neighbour (an island joins the smallest other group)
        target = max(links, key=lambda i: (links[i], -len(groups[i]))) if links else None
        if target is None:
            break
        groups[target] |= groups[small]
        del groups[small]
        groups.sort(key=lambda g: (-len(g), min(g)))
    return {j: f"{i:02d}" for i, group in enumerate(groups, start=1) for j in group}


def read_partition(path: Path, wn) -> dict[str, str]:
    """A given partition: CSV `junction,dma_id` (every junction of the network once)."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise AbbanoaError(f"--partition {path}: {exc}") from None
    if not rows or not {"junction", "dma_id"} <= set(rows[0]):
        raise AbbanoaError(f"--partition {path}: needs a header junction,dma_id")
    mapping = {r["junction"]: r["dma_id"] for r in rows}
    missing = sorted(set(wn.junction_name_list) - set(mapping))
    if missing:
        raise AbbanoaError(f"--partition {path}: {len(missing)} junctions have no district, e.g. {missing[0]}")
    return mapping


def build(
    name_or_path: str,
    districts: int | None = None,
    logger_density: float = 0.1,
    probe_density: float = 0.02,
    seed: int = 42,
    partition_file: Path | None = None,
) -> Network:
    """Load the network and place its districts and sensors (ids stable for a given input)."""
    path = resolve(name_or_path)
    wn = load(path)
    if not wn.junction_name_list:
        raise AbbanoaError(f"{path}: the network has no junctions")
    if partition_file is not None:
        given = read_partition(partition_file, wn)
        names = sorted(set(given.values()))
        member_of = {j: f"{names.index(d) + 1:02d}" for j, d in given.items()}
        labels = {f"{names.index(d) + 1:02d}": d for d in names}
    else:
        member_of = partition(wn, districts or default_districts(wn.num_junctions), seed)
        labels = {}
    # a junction with a negative demand is a source (an inflow the model draws as a demand):
    # it feeds the districts like a reservoir, outside them
    sources = {j for j in wn.junction_name_list if wn.get_node(j).base_demand < 0}
    member_of = {j: d for j, d in member_of.items() if j not in sources}
    to_latlon = _mapper(wn)
    network = Network(wn, {}, [], name=path.stem, to_latlon=to_latlon)
    dma_of = {}
    for index in sorted(set(member_of.values())):
        dma_id = labels.get(index) or f"DMA-{index}"
        members = {j for j, d in member_of.items() if d == index}
        network.districts[dma_id] = District(dma_id, f"District {labels.get(index) or index}", members)
        dma_of.update(dict.fromkeys(members, dma_id))
    _meters(network, dma_of, to_latlon)
    _tanks(network, dma_of, to_latlon)
    for district in network.districts.values():
        network.sensors.extend(_field(wn, district, logger_density, probe_density, to_latlon))
    return network


def _mapper(wn):
    xs = [n.coordinates[0] for _, n in wn.nodes() if n.coordinates]
    ys = [n.coordinates[1] for _, n in wn.nodes() if n.coordinates]
    x0, y0 = min(xs, default=0.0), min(ys, default=0.0)
    span = max(max(xs, default=1.0) - x0, max(ys, default=1.0) - y0, 1e-9)

    def to_latlon(x: float, y: float) -> tuple[float, float]:
        return round(_LAT0 + (y - y0) / span * _SPAN_DEG, 6), round(_LON0 + (x - x0) / span * _SPAN_DEG, 6)

    return to_latlon


def _meters(network: Network, dma_of: dict[str, str], to_latlon) -> None:
    wn = network.wn
    counters: dict[str, int] = {}
    for name, link in sorted(wn.links(), key=lambda item: item[0]):
        a, b = dma_of.get(link.start_node_name), dma_of.get(link.end_node_name)
        if a == b:
            continue  # inside a district, or between two sources
        home = b if b is not None else a  # listed under the district its drawn direction enters
        counters[home] = counters.get(home, 0) + 1
        node_id = f"{_prefix(home)}-FM-{counters[home]:02d}"
        inside = link.end_node_name if b is not None else link.start_node_name
        lat, lon = to_latlon(*wn.get_node(inside).coordinates)
        kind = type(link).__name__.lower()
        network.sensors.append(
            Sensor(
                node_id,
                f"{network.districts[home].name} {kind} {name} meter",
                "flow_meter",
                home,
                name,
                lat,
                lon,
                ("flow_rate", "total_flow", "temperature"),
            )
        )
        if b is not None:
            network.districts[b].meters.append((name, node_id, 1))
        if a is not None:
            network.districts[a].meters.append((name, node_id, -1))


def _prefix(dma_id: str) -> str:
    """Node id prefix of a district: DMA-03 -> D03; a given name's letters and digits."""
    if dma_id.startswith("DMA-"):
        return "D" + dma_id.removeprefix("DMA-")
    return "".join(ch for ch in dma_id if ch.isalnum()).upper()[:12] or "D"


def _tanks(network: Network, dma_of: dict[str, str], to_latlon) -> None:
    wn = network.wn
    for tank in sorted(wn.tank_name_list):
        neighbours = [
            dma_of.get(link.end_node_name if link.start_node_name == tank else link.start_node_name)
            for _, link in wn.links()
            if tank in (link.start_node_name, link.end_node_name)
        ]
        neighbours = [d for d in neighbours if d]
        if not neighbours:
            continue
        home = max(sorted(set(neighbours)), key=neighbours.count)
        lat, lon = to_latlon(*wn.get_node(tank).coordinates)
        count = sum(1 for s in network.sensors if s.dma_id == home and s.node_type == "tank") + 1
        network.sensors.append(
            Sensor(f"{_prefix(home)}-TK-{count:02d}", f"Tank {tank}", "tank", home, tank, lat, lon, ("level",))
        )


def _spread(wn, candidates: list[str], first: str, count: int) -> list[str]:
    """`count` junctions spread over the district: farthest-point sampling from `first`."""
    chosen = [first]
    xy = {j: wn.get_node(j).coordinates for j in candidates}
    nearest = {j: (xy[j][0] - xy[first][0]) ** 2 + (xy[j][1] - xy[first][1]) ** 2 for j in candidates}
    while len(chosen) < min(count, len(candidates)):
        pick = max(sorted(nearest), key=lambda j: nearest[j])
        if nearest[pick] <= 0 and pick in chosen:
            break
        chosen.append(pick)
        for j in candidates:
            d = (xy[j][0] - xy[pick][0]) ** 2 + (xy[j][1] - xy[pick][1]) ** 2
            nearest[j] = min(nearest[j], d)
        nearest[pick] = -1.0
    return chosen


def _field(wn, district: District, logger_density: float, probe_density: float, to_latlon) -> list[Sensor]:
    members = sorted(district.junctions)
    highest = max(members, key=lambda j: (wn.get_node(j).elevation, j))
    inlet = sorted(
        n
        for link, _, _ in district.meters
        for n in (wn.get_link(link).start_node_name, wn.get_link(link).end_node_name)
        if n in district.junctions
    )
    loggers = _spread(wn, members, highest, max(1, round(logger_density * len(members))))
    probes = _spread(wn, members, inlet[0] if inlet else members[0], max(1, round(probe_density * len(members))))
    prefix = _prefix(district.dma_id)
    out = []
    for kind, node_type, picks, metrics in (
        ("PL", "pressure_logger", loggers, ("pressure",)),
        ("QP", "quality_probe", probes, _QUALITY),
    ):
        for n, junction in enumerate(picks, start=1):
            lat, lon = to_latlon(*wn.get_node(junction).coordinates)
            name = f"{district.name} {node_type.replace('_', ' ')} at {junction}"
            out.append(
                Sensor(f"{prefix}-{kind}-{n:02d}", name, node_type, district.dma_id, junction, lat, lon, metrics)
            )
    return out
