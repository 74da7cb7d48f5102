-- The network model's pipes for the dashboard's offline map (issue 16): loaded from a
-- topology GeoJSON (the simulator's topology.geojson, or a utility's export).
CREATE TABLE IF NOT EXISTS network_pipes (
    tenant_id    text NOT NULL REFERENCES tenants (tenant_id),
    link_id      text NOT NULL,
    district_id  text,
    kind         text,
    length_m     double precision,
    diameter_mm  double precision,
    coordinates  jsonb NOT NULL,            -- [[lon, lat], ...]
    PRIMARY KEY (tenant_id, link_id)
);
