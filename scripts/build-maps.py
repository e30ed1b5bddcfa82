#!/usr/bin/env python3
"""Builds the outline maps the status site draws outage circles on:

  crates/web/assets/world.svg      countries, equirectangular, 960 x 480
  crates/web/assets/us-states.svg  US states, Albers USA (as d3.geoAlbersUsa, scale 1300), 975 x 610

from the npm packages world-atlas 2.0.2 (countries-110m.json, Natural Earth) and us-atlas 3.0.1
(states-albers-10m.json, US Census Bureau), both ISC-licensed by Mike Bostock (see NOTICE).

    cd /tmp && npm pack world-atlas@2.0.2 us-atlas@3.0.1
    tar xzf world-atlas-2.0.2.tgz && mv package world && tar xzf us-atlas-3.0.1.tgz && mv package us
    python3 scripts/build-maps.py /tmp/world/countries-110m.json /tmp/us/states-albers-10m.json

The circles are projected in Rust (crates/web/src/pages/map.rs) with the same projections.
"""
import json
import sys
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "crates/web/assets"


def decode_arcs(topology):
    """TopoJSON arcs, delta-decoded and un-quantized."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring(arcs, indexes):
    points = []
    for i in indexes:
        arc = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
        points.extend(arc if not points else arc[1:])
    return points


def polygons(geometry):
    if geometry["type"] == "Polygon":
        return [geometry["arcs"]]
    if geometry["type"] == "MultiPolygon":
        return geometry["arcs"]
    return []


def path(rings, project):
    out = []
    for points in rings:
        last = None
        parts = []
        previous_lon = None
        for lon, lat in points:
            x, y = project(lon, lat)
            p = (round(x, 1), round(y, 1))
            # A ring that crosses the antimeridian (Russia, Fiji) would draw a line across
            # the whole map: start a new piece instead.
            if previous_lon is not None and abs(lon - previous_lon) > 180:
                out.append("M" + "L".join(parts))
                parts, last = [], None
            previous_lon = lon
            if p != last:
                parts.append(f"{p[0]:g},{p[1]:g}")
                last = p
        if len(parts) > 2:
            out.append("M" + "L".join(parts) + "Z")
    return "".join(out)


def svg(topology, name, width, height, project, css_class):
    arcs = decode_arcs(topology)
    features = []
    for g in topology["objects"][name]["geometries"]:
        if g.get("properties", {}).get("name") == "Antarctica":
            continue  # no one reports outages from there, and it takes a sixth of the map
        rings = [ring(arcs, r) for polygon in polygons(g) for r in polygon]
        d = path(rings, project)
        if d:
            title = g.get("properties", {}).get("name", "")
            features.append(f'<path class="{css_class}" d="{d}"><title>{title}</title></path>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
        '<style>path{fill:#8883;stroke:#8888;stroke-width:.5}</style>'
        + "".join(features)
        + "</svg>\n"
    )


def main(world_path, us_path):
    world = json.load(open(world_path))
    ASSETS.mkdir(parents=True, exist_ok=True)
    (ASSETS / "world.svg").write_text(
        svg(world, "countries", 960, 480, lambda lon, lat: ((lon + 180) / 360 * 960, (90 - lat) / 180 * 480), "country")
    )
    us = json.load(open(us_path))
    (ASSETS / "us-states.svg").write_text(svg(us, "states", 975, 610, lambda x, y: (x, y), "state"))
    for f in ("world.svg", "us-states.svg"):
        print(f, (ASSETS / f).stat().st_size, "bytes")


if __name__ == "__main__":
    main(*sys.argv[1:3])
