"""Fuzz campaign for the product readers: mutated ICEYE products indexed in batches with good ones.

Run on demand (not in CI)::

    python fuzz/fuzz_products.py --cases 10000            # about 10 minutes on 2 cores
    python fuzz/fuzz_products.py --cases 500 --seed 7 --keep /tmp/fuzz   # keep the batches of failed runs

Every case is one product folder holding a mutated product: the real ICEYE XML or a generated GRD/SLC XML
with one field-level mutation (huge integers, inf/nan, Unicode digits, empty or very long values, deleted,
duplicated or nested elements, bogus encoding declarations, element floods, deep nesting, vectors of
millions of values, byte flips, DOCTYPEs), GeoTIFF tags and raster layouts, HDF5 datasets (hostile values,
groups, links, null dataspaces, other dtypes and shapes), byte-flipped or truncated containers, file
names that are not UTF-8, symbolic links out of the folder or in loops, FIFOs and devices.

Cases are indexed in batches, each batch mixed with good products, into a fresh catalog by
:func:`icecube_stac.catalog.index` in a worker process with a time limit and an ``RLIMIT_AS`` memory limit.
The table counts, all of which must be zero:

* ``crashes``: failures whose reason says "unexpected" (an exception outside IcecubeStacError was caught
  by the indexer) plus exceptions escaping :func:`index`;
* ``aborted``: index runs that raised or died;
* ``invalid``: catalogs with an item, collection or the catalog failing offline STAC validation, an
  items.parquet that disagrees with the item files, or a good product of the batch not indexed;
* ``hangs``: runs over the time limit; ``memory``: runs that hit the memory limit.

One more column, not the readers' business: ``hrefs not URI-encoded`` counts products the indexer refused
only because an asset href is the raw file path (a space in a folder name is not a valid IRI reference);
the item writer should percent-encode paths (see the report of this campaign).

A batch with a problem is re-run case by case to name the culprits (case id, family, mutation).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import resource
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from icecube_stac.testing import ProductSpec, write_product  # noqa: E402

_REAL_XML_NAME = "ICEYE_X7_GRD_SM_154171_20211027T183203.xml"
_SHAPE = (16, 12)

# --------------------------------------------------------------------------------------------------------
# Hostile values
# --------------------------------------------------------------------------------------------------------

_UNICODE_DIGITS = [
    "\u0662\u0666\u0664",  # Arabic-Indic 264
    "\uff11\uff17\uff16",  # fullwidth 176
    "\u0967\u0968",  # Devanagari 12
    "\u00b2",  # superscript two (isdigit() but not int())
    "\u2460",  # circled one
    "\U0001d7ce\U0001d7cf",  # mathematical bold digits
    "1\u0663.5",  # mixed
    "\u0661e\u0663",
]
_TEXT_VALUES = [
    "",
    " ",
    "\t\n",
    "None",
    "null",
    "True",
    "[]",
    "[[]]",
    "[1, 2",
    "0x10",
    "1_000",
    "1e",
    "--1",
    "+-1",
    ".",
    "1 2 3",
    "\u202e1.0",  # right-to-left override
    "\u00851",  # NEL (a C1 control allowed in XML)
    "\ufeff1",
    "\u00a0\u00a01",
    "caf\u00e9",
    "\u2603",
    "../../etc/passwd",
    "ICEYE_X7_GRD_SM_1_20240101T000000/../x",
    "a" * 300,
]


def hostile_value(rng: random.Random) -> str:
    """Return one hostile field text."""
    kind = rng.randrange(9)
    if kind == 0:
        return str(rng.choice([2**63, 2**63 - 1, 2**64, -(2**63) - 1, 10**19, 10**30, -(10**40), 9223372036854775808]))
    if kind == 1:
        return rng.choice(["1e308", "-1e308", "1.7976931348623157e308", "1e309", "1e-320", "5e-324", "-0.0", "1e999"])
    if kind == 2:
        return rng.choice(["inf", "-inf", "nan", "NaN", "Infinity", "-Infinity", "INF", "nan(0x1)"])
    if kind == 3:
        return rng.choice(_UNICODE_DIGITS)
    if kind == 4:
        return rng.choice(_TEXT_VALUES)
    if kind == 5:  # very long values
        unit = rng.choice(["9", "1 ", "a", "1.5e-06 ", "\u0662"])
        return unit * rng.choice([10**3, 10**5, 10**6, 3 * 10**6])
    if kind == 6:
        return rng.choice(["0", "-1", "1", "65536", "1000000", "1000001", "4000000001", "0.5", "1.0", "-0"])
    if kind == 7:  # times
        return rng.choice(
            [
                "0001-01-01T00:00:00",
                "9999-12-31T23:59:59.999999",
                "1970-01-01T00:00:00",
                "2021-13-01T00:00:00",
                "2021-02-30T00:00:00",
                "2021-10-27T23:59:60",
                "2021-10-27T18:32:03.123456789",
                "2021-10-27T18:32:03+05:00",
                "\u0662\u0660\u0662\u0661-10-27T18:32:03",
                "2021-10-27",
            ]
        )
    # corners: 4 numbers, some hostile
    col, row = rng.choice([(1, 1), (0, 0), (-5, 10**9), (1e308, 1)])
    lat, lon = rng.choice([(16.5, 102.8), (90, 180), (-90, -180), (89.99, 179.999), (0, -179.9999), (91, 0), (0, 361)])
    return f"{col} {row} {lat} {lon}"


# --------------------------------------------------------------------------------------------------------
# XML mutations (text level: every mutation keeps the rest of the document as it was)
# --------------------------------------------------------------------------------------------------------

_LEAF = re.compile(r"<([A-Za-z_][\w.-]*)>([^<]*)</\1>")
_BLOCK_TAGS = [
    "Orbit_State_Vectors",
    "Doppler_Centroid_Coefficients",
    "Doppler_Rate",
    "GRSR_Coefficients",
    "Incidence_Angle_Coefficients",
    "RPC",
    "orbit_vector",
    "coefficient",
    "dc_coefficients_list",
]
_CORNER_TAGS = ["coord_first_near", "coord_first_far", "coord_last_near", "coord_last_far", "coord_center"]


def _leaves(text: str) -> list[re.Match[str]]:
    return list(_LEAF.finditer(text))


def _set_leaf(text: str, tag: str, value: str) -> str:
    return re.sub(f"<{tag}>[^<]*</{tag}>", lambda _: f"<{tag}>{value}</{tag}>", text, count=1)


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _block_span(text: str, tag: str) -> tuple[int, int] | None:
    start = text.find(f"<{tag}>")
    end = text.find(f"</{tag}>", start)
    return None if start < 0 or end < 0 else (start, end + len(tag) + 3)


def mutate_xml(text: str, rng: random.Random) -> tuple[str | bytes, str]:
    """Return a mutated XML document (text or raw bytes) and a description of the mutation."""
    leaves = _leaves(text)
    kind = rng.randrange(16)
    if kind <= 4:  # swap a value (most common)
        leaf = rng.choice(leaves)
        value = hostile_value(rng)
        return text[: leaf.start(2)] + _escape(value) + text[leaf.end(2) :], f"value {leaf.group(1)}={value[:40]!r}"
    if kind == 5:  # corners
        tag = rng.choice(_CORNER_TAGS)
        ring = [rng.uniform(-90, 90), rng.uniform(-180, 180)]
        value = rng.choice(
            [
                f"1 1 {ring[0]} {ring[1]}",
                "1 1 16.6 179.99",
                "1 1 16.6 -179.99",
                "1 1 0 0",
                "1 1 16.0 102.3",
                "1 1 90 0",
                "1 1",
                "1 1 16 102 5",
            ]
        )
        if rng.random() < 0.3:  # every corner at once: a bowtie or a line
            for t in _CORNER_TAGS[:4]:
                text = _set_leaf(text, t, f"1 1 {rng.choice([0, 16.5])} {rng.choice([179.9, -179.9, 0])}")
            return text, "all corners degenerate"
        return _set_leaf(text, tag, value), f"corner {tag}={value!r}"
    if kind == 6:  # delete an element (leaf or block)
        if rng.random() < 0.5:
            leaf = rng.choice(leaves)
            return text[: leaf.start()] + text[leaf.end() :], f"delete {leaf.group(1)}"
        tag = rng.choice(_BLOCK_TAGS)
        span = _block_span(text, tag)
        return (text if span is None else text[: span[0]] + text[span[1] :]), f"delete block {tag}"
    if kind == 7:  # duplicate an element
        if rng.random() < 0.6:
            leaf = rng.choice(leaves)
            value = _escape(hostile_value(rng)) if rng.random() < 0.5 else leaf.group(2)
            copy = f"<{leaf.group(1)}>{value}</{leaf.group(1)}>"
            return text[: leaf.end()] + copy + text[leaf.end() :], f"duplicate {leaf.group(1)}"
        tag = rng.choice(_BLOCK_TAGS)
        span = _block_span(text, tag)
        if span is None:
            return text, f"duplicate missing block {tag}"
        block = text[span[0] : span[1]]
        return text[: span[1]] + block * rng.choice([1, 2, 50]) + text[span[1] :], f"duplicate block {tag}"
    if kind == 8:  # nesting
        leaf = rng.choice(leaves)
        inner = rng.choice(
            [
                f"<x>{leaf.group(2)}</x>",
                f"<{leaf.group(1)}>{leaf.group(2)}</{leaf.group(1)}>",
                "<Metadata/>",
                "<a><b/></a>",
            ]
        )
        return text[: leaf.start(2)] + inner + text[leaf.end(2) :], f"nest in {leaf.group(1)}"
    if kind == 9:  # encoding declarations
        encoding = rng.choice(
            [
                "x-bogus-42",
                "utf-16",
                "utf-32",
                "shift_jis",
                "ascii",
                "latin-1",
                "cp500",
                "utf-7",
                "",
                "UTF-8\x00",
                "x" * 500,
            ]
        )
        data = text.replace('encoding="UTF-8"', f'encoding="{encoding}"')
        if rng.random() < 0.3:
            codec = rng.choice(["utf-16", "utf-32", "latin-1", "cp500"])
            return data.encode(codec, errors="replace"), f"encoding {encoding!r} as {codec}"
        return data, f"encoding {encoding!r}"
    if kind == 10:  # floods: element count
        count = rng.choice([10**4, 10**5, 2 * 10**5, 5 * 10**5])
        flood = "<e>1</e>" * count
        where = text.rfind("</Metadata>")
        return text[:where] + flood + text[where:], f"{count} extra elements"
    if kind == 11:  # deep nesting
        depth = rng.choice([40, 1000, 10**5])
        where = text.rfind("</Metadata>")
        return text[:where] + "<d>" * depth + "</d>" * depth + text[where:], f"nesting {depth} deep"
    if kind == 12:  # a vector field with very many values
        count = rng.choice([10**5, 10**6, 10**7, 3 * 10**7])
        tag = rng.choice(["coord_center", "posX", "LINE_NUM_COEFF", "value", "doppler_rate_coeffs"])
        body = "1.5 " * count
        if rng.random() < 0.5 or tag not in text:
            where = text.rfind("</Metadata>")
            return text[:where] + f"<{tag}>{body}</{tag}>" + text[where:], f"vector {tag} of {count} values"
        return _set_leaf(text, tag, body), f"vector {tag} of {count} values"
    if kind == 13:  # byte flips and truncation
        flipped = bytearray(text.encode())
        for _ in range(rng.randint(1, 20)):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        if rng.random() < 0.3:
            flipped = flipped[: rng.randrange(1, len(flipped))]
        return bytes(flipped), "byte flips"
    if kind == 14:  # hostile XML constructs
        header = rng.choice(
            [
                '<!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>',
                '<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
                '<!DOCTYPE m SYSTEM "http://127.0.0.1:9/x.dtd">',
                "<?xml-stylesheet href='http://127.0.0.1:9/x'?>",
            ]
        )
        data = text.replace("<Metadata>", header + "<Metadata>", 1)
        return data, f"construct {header[:30]}"
    # namespaces, attributes, CDATA, comments, processing instructions, BOMs
    leaf = rng.choice(leaves)
    choice = rng.randrange(6)
    if choice == 0:
        return text.replace("<Metadata>", '<Metadata xmlns="urn:x" xmlns:p="urn:p">', 1), "namespace"
    if choice == 1:
        attrs = " ".join(f'a{i}="{i}"' for i in range(rng.choice([10, 10**4])))
        return text.replace("<Metadata>", f"<Metadata {attrs}>", 1), "attributes"
    if choice == 2:
        return text[: leaf.start(2)] + f"<![CDATA[{leaf.group(2)}]]>" + text[leaf.end(2) :], "CDATA"
    if choice == 3:
        return text[: leaf.start(2)] + "<!-- c -->" + leaf.group(2) + text[leaf.end(2) :], "comment in value"
    if choice == 4:
        return b"\xef\xbb\xbf" + text.encode(), "BOM"
    return text.replace("<Metadata>", "<p:Metadata>", 1).replace("</Metadata>", "</p:Metadata>"), "unbound prefix"


# --------------------------------------------------------------------------------------------------------
# Raster mutations
# --------------------------------------------------------------------------------------------------------


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    """Flip a few bytes, maybe truncate."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 12)):
        out[rng.randrange(len(out))] = rng.randrange(256)
    if rng.random() < 0.3:
        out = out[: rng.randrange(1, len(out))]
    return bytes(out)


def _quiet_rasterio() -> Any:
    import warnings

    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("ignore", NotGeoreferencedWarning)
    return ctx


def mutate_geotiff(path: Path, rng: random.Random) -> str:
    """Mutate a GRD GeoTIFF in place (tags, raster layout, bytes); return the description."""
    kind = rng.randrange(6)
    ctx = _quiet_rasterio()
    try:
        if kind <= 2:  # a tag
            with rasterio.open(path) as src:
                tags = src.tags()
            key = rng.choice(sorted(tags))
            with rasterio.open(path, "r+") as dst:
                if rng.random() < 0.2:
                    dst.update_tags(**{key: ""})
                    return f"tag {key} emptied"
                value = hostile_value(rng)
                dst.update_tags(**{key: value})
                return f"tag {key}={value[:40]!r}"
        if kind == 3:  # the RPC domain
            with rasterio.open(path, "r+") as dst:
                key = rng.choice(["LINE_OFF", "LINE_NUM_COEFF", "SAMP_SCALE", "LAT_OFF"])
                value = hostile_value(rng)
                dst.update_tags(ns="RPC", **{key: value})
                return f"rpc {key}={value[:40]!r}"
        if kind == 4:  # another layout
            with rasterio.open(path) as src:
                tags, profile = src.tags(), src.profile
            dtype, count, shape = rng.choice(
                [
                    ("float32", 1, _SHAPE),
                    ("int16", 1, _SHAPE),
                    ("uint8", 1, _SHAPE),
                    ("uint16", 2, _SHAPE),
                    ("complex64", 1, _SHAPE),
                    ("uint16", 1, (1, 1)),
                    ("uint16", 1, (2_000_000, 16)),
                    ("uint16", 1, (100_000, 100_000)),
                ]
            )
            profile.update(dtype=dtype, count=count, height=shape[0], width=shape[1], sparse_ok=True)
            profile.pop("nodata", None)
            path.unlink()
            with rasterio.open(path, "w", **profile) as dst:
                dst.update_tags(**tags)
                if shape == _SHAPE:
                    dst.write(np.ones((count, *shape), dtype=dtype))
            return f"raster {dtype} x{count} {shape}"
    finally:
        ctx.__exit__(None, None, None)
    path.write_bytes(flip_bytes(path.read_bytes(), rng))
    return "tif byte flips"


def _hostile_dataset_value(rng: random.Random) -> tuple[Any, dict[str, Any], str]:
    kind = rng.randrange(14)
    if kind == 0:
        return np.uint64(2**64 - 1), {}, "uint64 max"
    if kind == 1:
        return np.int64(2**63 - 1), {}, "int64 max"
    if kind == 2:
        return rng.choice([np.inf, -np.inf, np.nan, 1e308]), {}, "float special"
    if kind == 3:
        return rng.choice(_UNICODE_DIGITS).encode(), {}, "unicode digits bytes"
    if kind == 4:
        return b"\xff\xfe\x00\x01", {}, "undecodable bytes"
    if kind == 5:
        return "9" * 10**6, {"dtype": h5py.string_dtype("ascii")}, "long string"
    if kind == 6:
        return np.zeros(10**7, dtype="f8"), {"compression": "gzip", "chunks": (10**6,)}, "10**7 values"
    if kind == 7:
        return h5py.Empty("f8"), {}, "null dataspace"
    if kind == 8:
        return np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]), {}, "compound"
    if kind == 9:
        return np.array(True), {}, "bool"
    if kind == 10:
        return np.array(1 + 2j), {}, "complex"
    if kind == 11:
        return np.zeros((2, 2, 2)), {}, "3-D"
    if kind == 12:
        if rng.random() < 0.5:  # a fixed-length string of a gigabyte, compressed and never written
            return None, {"shape": (1,), "dtype": "S1000000000", "compression": "gzip", "chunks": (1,)}, "1 GB string"
        return hostile_value(rng).encode("utf-8", "surrogatepass"), {}, "hostile text"
    return np.array([np.iinfo(np.int64).min]), {}, "int64 min array"


def mutate_hdf5(path: Path, rng: random.Random) -> str:
    """Mutate an SLC HDF5 in place (datasets, samples, links, bytes); return the description."""
    kind = rng.randrange(7)
    if kind == 6:
        path.write_bytes(flip_bytes(path.read_bytes(), rng))
        return "h5 byte flips"
    with h5py.File(path, "r+") as h5:
        names = sorted(n for n in h5 if isinstance(h5[n], h5py.Dataset))
        if kind <= 2:
            name = rng.choice(names)
            value, options, what = _hostile_dataset_value(rng)
            del h5[name]
            h5.create_dataset(name, data=value, **options)
            return f"dataset {name}: {what}"
        if kind == 3:
            name = rng.choice([*names, "RPC"])
            del h5[name]
            choice = rng.randrange(4)
            if choice == 0:
                h5.create_group(name)
            elif choice == 1:
                h5[name] = h5py.SoftLink("/s_q")
            elif choice == 2:
                h5[name] = h5py.ExternalLink("/etc/passwd", "/x")
            else:
                h5.create_dataset(name, data=np.zeros(3))
            return f"{name} replaced by kind {choice}"
        if kind == 4:  # samples
            name = rng.choice(["s_i", "s_q"])
            shape = h5[name].shape
            del h5[name]
            choice = rng.randrange(6)
            if choice == 0:
                h5.create_dataset(name, data=np.zeros(shape, dtype=rng.choice(["u1", "<i8", "<f8", "<c8", "S2"])))
            elif choice == 1:
                h5.create_dataset(name, data=np.zeros((shape[0] + 1, shape[1]), dtype="<i2"))
            elif choice == 2:
                h5.create_dataset(name, data=h5py.Empty("<i2"))
            elif choice == 3:
                h5.create_dataset(name, shape=(10**8, 10**8), dtype="<i2", chunks=(16, 16))
            elif choice == 4:
                h5.create_dataset(name, data=np.zeros(10, dtype="<i2"))
            else:
                h5.create_dataset(name, data=np.zeros(shape, dtype=">i2"))
            return f"samples {name} kind {choice}"
        # attributes and odd root objects
        h5.attrs["x"] = np.zeros(10)
        h5.create_dataset("zzz_" + hostile_value(rng)[:20].replace("/", "_").replace(".", "_") or "e", data=1)
        return "extra root objects"


# --------------------------------------------------------------------------------------------------------
# Seeds, good products and cases
# --------------------------------------------------------------------------------------------------------


@dataclass
class Seeds:
    """Tiny valid products whose files the cases copy and mutate."""

    files: dict[str, dict[str, bytes]]  # kind -> suffix -> bytes
    names: dict[str, str]  # kind -> product name


def make_seeds(folder: Path) -> Seeds:
    """Write the seed products once."""
    specs = {
        "grd": ProductSpec(level="GRD", image_id=910001, shape=_SHAPE, seed=1),
        "slc": ProductSpec(level="SLC", image_id=910002, shape=_SHAPE, seed=2),
        "slc32": ProductSpec(level="SLC", image_id=910003, shape=_SHAPE, seed=3, slc_dtype="float32"),
    }
    files: dict[str, dict[str, bytes]] = {}
    names: dict[str, str] = {}
    for kind, spec in specs.items():
        product = write_product(spec, folder / kind)
        assert product.xml is not None
        files[kind] = {product.raster.suffix: product.raster.read_bytes(), ".xml": product.xml.read_bytes()}
        names[kind] = product.name
    real = (ROOT / "tests" / "data" / _REAL_XML_NAME).read_text()
    shared = ROOT.parent / "shared" / "reference" / "data" / _REAL_XML_NAME
    if shared.is_file():
        real = shared.read_text()
    real = _set_leaf(
        _set_leaf(real, "number_of_azimuth_samples", str(_SHAPE[0])), "number_of_range_samples", str(_SHAPE[1])
    )
    files["real"] = {".tif": files["grd"][".tif"], ".xml": real.encode()}
    names["real"] = "ICEYE_X7_GRD_SM_154171_20211027T183203"
    return Seeds(files, names)


def _renamed_xml(xml: bytes, old: str, new: str) -> bytes:
    return xml.replace(old.encode(), new.encode())


def _rename_raster(path: Path, new: str) -> None:
    """Give a raster-only product a new product name inside the file."""
    if path.suffix == ".tif":
        ctx = _quiet_rasterio()
        try:
            with rasterio.open(path, "r+") as dst:
                dst.update_tags(PRODUCT_NAME=new)
        finally:
            ctx.__exit__(None, None, None)
    else:
        with h5py.File(path, "r+") as h5:
            del h5["product_name"]
            h5.create_dataset("product_name", data=new, dtype=h5py.string_dtype("ascii"))


def write_seed_copy(seeds: Seeds, kind: str, folder: Path, number: int, *, xml: bool) -> tuple[Path, Path | None, str]:
    """Write a copy of a seed product under a fresh product name; return (raster, xml, name)."""
    old = seeds.names[kind]
    level = "SLC" if kind.startswith("slc") else "GRD"
    new = f"ICEYE_X7_{level}_SM_{number}_20211027T183203"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".h5" if level == "SLC" else ".tif"
    raster = folder / f"{new}{suffix}"
    raster.write_bytes(seeds.files[kind][suffix])
    sidecar = None
    if xml:
        sidecar = folder / f"{new}.xml"
        sidecar.write_bytes(_renamed_xml(seeds.files[kind][".xml"], old, new))
    _rename_raster(raster, new)  # also with a sidecar: a product falling back to the raster keeps its own id
    return raster, sidecar, new


@dataclass
class Case:
    """One mutated product."""

    number: int
    family: str
    description: str


def _name_case(seeds: Seeds, folder: Path, number: int, rng: random.Random) -> str:
    kind = rng.choice(["grd", "slc"])
    raster, sidecar, name = write_seed_copy(seeds, kind, folder, number, xml=rng.random() < 0.7)
    choice = rng.randrange(4)
    if choice == 0:
        new = os.fsdecode(os.fsencode(name) + rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80abc"]))
    elif choice == 1:
        new = name + "_" + "x" * (240 - len(name))
    elif choice == 2:
        new = name + rng.choice([" with space", "\nnewline", "\u00e9\u2603", "'quote\""])
    else:
        sub = folder / os.fsdecode(b"dir\xff")
        sub.mkdir()
        shutil.move(str(raster), sub / raster.name)
        if sidecar is not None:
            shutil.move(str(sidecar), sub / sidecar.name)
        return "product in a folder whose name is not UTF-8"
    raster.rename(raster.with_name(new + raster.suffix))
    if sidecar is not None:
        sidecar.rename(sidecar.with_name(new + ".xml"))
    return f"file name {os.fsencode(new)[-12:]!r}"


def _link_case(seeds: Seeds, folder: Path, number: int, rng: random.Random) -> str:
    folder.mkdir(parents=True)
    choice = rng.randrange(7)
    if choice == 0:
        (folder / "usr").symlink_to("/usr", target_is_directory=True)
        return "link to /usr"
    if choice == 1:
        (folder / "loop").symlink_to(folder, target_is_directory=True)
        (folder / "a").symlink_to(folder / "b")
        (folder / "b").symlink_to(folder / "a")
        (folder / "c.xml").symlink_to(folder / "c.xml")
        return "link loops"
    if choice == 2:
        (folder / f"ICEYE_X7_GRD_SM_{number}_20211027T183203.xml").symlink_to("/dev/zero")
        return "xml linking to /dev/zero"
    if choice == 3:
        os.mkfifo(folder / f"ICEYE_X7_GRD_SM_{number}_20211027T183203.xml")
        return "fifo xml"
    if choice == 4:
        raster, _, _ = write_seed_copy(seeds, "grd", folder, number, xml=False)
        os.mkfifo(raster.with_suffix(".xml"))
        return "raster with a fifo sidecar"
    if choice == 5:
        if rng.random() < 0.5:
            (folder / f"ICEYE_X7_SLC_SM_{number}_20211027T183203.h5").symlink_to(folder / "missing.h5")
            return "dangling link"
        os.mkfifo(folder / f"ICEYE_X7_GRD_SM_{number}_20211027T183203.tif")
        (folder / f"ICEYE_X7_SLC_SM_{number}_20211027T183203.h5").symlink_to("/dev/zero")
        return "fifo tif and /dev/zero h5"
    (folder / "proc").symlink_to("/proc/self", target_is_directory=True)
    return "link to /proc/self"


def write_case(seeds: Seeds, folder: Path, number: int, seed: int) -> Case:
    """Write mutated product ``number`` into ``folder`` (created): the same seed and number, the same case."""
    rng = random.Random(f"{seed}/{number}")
    family = rng.choices(["xml", "geotiff", "hdf5", "names", "links"], weights=[55, 15, 20, 5, 5])[0]
    if family == "names":
        return Case(number, family, _name_case(seeds, folder, number, rng))
    if family == "links":
        return Case(number, family, _link_case(seeds, folder, number, rng))
    if family == "xml":
        kind = rng.choice(["real", "real", "grd", "slc", "slc32"])
        raster, sidecar, _ = write_seed_copy(seeds, kind, folder, number, xml=True)
        assert sidecar is not None
        data, description = mutate_xml(sidecar.read_text(), rng)
        sidecar.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
        if rng.random() < 0.1:
            raster.unlink()  # an orphan sidecar: the XML is still read and reported
            description += " (no raster)"
        return Case(number, family, f"{kind}: {description}")
    kind = "grd" if family == "geotiff" else rng.choice(["slc", "slc32"])
    raster, _, _ = write_seed_copy(seeds, kind, folder, number, xml=False)
    mutate = mutate_geotiff if family == "geotiff" else mutate_hdf5
    try:
        description = mutate(raster, rng)
    except Exception as exc:  # the mutation itself failed (e.g. h5py refused a value): keep the copy
        description = f"mutation not applied ({type(exc).__name__})"
    return Case(number, family, f"{kind}: {description}")


def write_batch(
    seeds: Seeds, folder: Path, first: int, count: int, goods: int, seed: int
) -> tuple[list[Case], list[str]]:
    """Write ``count`` cases and ``goods`` good products; return the cases and the good product names."""
    cases = [write_case(seeds, folder / f"case{n:06d}", n, seed) for n in range(first, first + count)]
    good_names = []
    for g in range(goods):
        kind = ["grd", "slc", "slc32", "real"][g % 4]
        number = 5_000_000 + first + g
        _, _, name = write_seed_copy(seeds, kind, folder / f"good{number}", number, xml=g % 3 != 2)
        good_names.append(name)
    return cases, good_names


# --------------------------------------------------------------------------------------------------------
# The worker: index one folder into a fresh catalog, validate what was written
# --------------------------------------------------------------------------------------------------------


def _validate_catalog(catalog: Path) -> list[str]:
    import pyarrow.parquet as pq

    from icecube_stac.stac import validate

    problems = []
    documents = [
        catalog / "catalog.json",
        *sorted(catalog.glob("*/collection.json")),
        *sorted(catalog.glob("*/items/*.json")),
    ]
    for path in documents:
        try:
            validate(json.loads(path.read_text()))
        except Exception as exc:
            problems.append(f"{path.relative_to(catalog)}: {type(exc).__name__}: {str(exc)[:300]}")
    item_ids = {p.stem for p in catalog.glob("*/items/*.json")}
    parquet_ids: set[str] = set()
    for parquet in catalog.rglob("*.parquet"):
        try:
            parquet_ids |= set(pq.read_table(parquet, columns=["id"]).column("id").to_pylist())
        except Exception as exc:
            problems.append(f"{parquet.relative_to(catalog)}: unreadable: {type(exc).__name__}: {exc}")
    if item_ids and parquet_ids != item_ids:
        problems.append(f"items.parquet ids differ from item files: {sorted(parquet_ids ^ item_ids)[:5]}")
    return problems


def _worker(folder: str, catalog: str, result: str, memory: int) -> None:
    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    out: dict[str, Any]
    try:
        from icecube_stac.catalog import index

        report = index([folder], catalog)
        out = {
            "status": "ok",
            "added": report.added,
            "failures": [[f.path, f.reason] for f in report.failures],
            "warnings": [[w.path, w.reason] for w in report.warnings],
            "invalid": _validate_catalog(Path(catalog)) if Path(catalog, "catalog.json").exists() else [],
        }
    except MemoryError:
        out = {"status": "memory"}
    except BaseException as exc:
        out = {
            "status": "aborted",
            "error": f"{type(exc).__name__}: {exc}"[:2000],
            "traceback": traceback.format_exc()[-4000:],
        }
    Path(result).write_text(json.dumps(out, ensure_ascii=True))


@dataclass
class Outcome:
    """What one index run gave."""

    status: str  # ok, aborted, hang, memory
    crashes: list[str]
    invalid: list[str]
    missing_good: list[str]
    error: str = ""
    refused: int = 0  # failures reported for mutated products
    accepted: int = 0  # mutated products indexed (their items validated with the rest)
    unencoded: list[str] = field(default_factory=list)  # items refused only for a raw path as asset href


def run_index(folder: Path, workdir: Path, goods: list[str], timeout: float, memory: int) -> Outcome:
    """Index ``folder`` into a fresh catalog in a worker process and classify the outcome."""
    catalog = Path(tempfile.mkdtemp(dir=workdir, prefix="catalog-"))
    shutil.rmtree(catalog)
    result = workdir / f"result-{os.getpid()}-{time.monotonic_ns()}.json"
    context = multiprocessing.get_context("fork")
    process = context.Process(target=_worker, args=(str(folder), str(catalog), str(result), memory))
    process.start()
    process.join(timeout)
    try:
        if process.is_alive():
            process.kill()
            process.join()
            return Outcome("hang", [], [], [], f"over {timeout:g} s")
        if not result.exists():
            return Outcome("aborted", [], [], [], f"worker died with exit code {process.exitcode}")
        out = json.loads(result.read_text())
    finally:
        result.unlink(missing_ok=True)
        shutil.rmtree(catalog, ignore_errors=True)
    if out["status"] != "ok":
        status = "memory" if out["status"] == "memory" or "MemoryError" in out.get("error", "") else "aborted"
        return Outcome(status, [], [], [], out.get("error", "") + "\n" + out.get("traceback", ""))
    # The indexer reports an exception outside IcecubeStacError as "unexpected <type>: ..." (catalog.py).
    crashes = [f"{p}: {r}" for p, r in out["failures"] + out["warnings"] if r.startswith("unexpected ")]
    missing = [name for name in goods if name not in out["added"]]
    failed_good = [f"{p}: {r}" for p, r in out["failures"] if "/good" in p]
    # The indexer validates every item before writing it; an item that does not validate is reported as a
    # failure, but for a product the metadata model accepted it is a bug: counted as an invalid catalog.
    unencoded = [f"{p}: {r}" for p, r in out["failures"] if "does not validate" in r and _href_only(r)]
    failed_good += [f"{p}: {r}" for p, r in out["failures"] if "does not validate" in r and not _href_only(r)]
    refused = sum(1 for p, _ in out["failures"] if "/good" not in p)
    accepted = len(out["added"]) - (len(goods) - len(missing))
    outcome = Outcome("ok", crashes, out["invalid"] + failed_good, missing, refused=refused, accepted=accepted)
    outcome.unencoded = unencoded
    return outcome


def _href_only(reason: str) -> bool:
    """Tell whether an item failed validation only because an asset href is a raw path (a space, a backslash)."""
    found = reason.split("so it is not indexed: ", 1)[-1].split("; ")
    return all(re.fullmatch(r"STAC item [\d.]+: data\.assets\.\w+\.href must be iri-reference", f) for f in found)


# --------------------------------------------------------------------------------------------------------
# The campaign
# --------------------------------------------------------------------------------------------------------


def _culprits(seeds: Seeds, cases: list[Case], workdir: Path, args: argparse.Namespace) -> list[str]:
    """Re-run each case of a failed batch alone (with one good product) to name the culprits."""
    named = []
    for case in cases:
        alone = workdir / f"alone{case.number}"
        write_case(seeds, alone / "case", case.number, args.seed)
        _, _, good = write_seed_copy(seeds, "grd", alone / "good", 7_000_000 + case.number, xml=True)
        outcome = run_index(alone, workdir, [good], args.timeout, args.memory)
        if outcome.status != "ok" or outcome.crashes or outcome.invalid or outcome.missing_good:
            detail = outcome.error or "; ".join(outcome.crashes + outcome.invalid + outcome.missing_good)
            named.append(f"case {case.number} [{case.family}] {case.description}: {outcome.status}: {detail[:600]}")
        shutil.rmtree(alone, ignore_errors=True)
    return named


def main(argv: list[str] | None = None) -> int:
    """Run the campaign and print the table; exit status 1 if any count is not zero."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000, help="mutated products in all (default 10000)")
    parser.add_argument("--batch", type=int, default=100, help="mutated products per index run (default 100)")
    parser.add_argument("--goods", type=int, default=6, help="good products per index run (default 6)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per index run (default 120)")
    parser.add_argument("--memory", type=int, default=4096, help="RLIMIT_AS of a run in MiB (default 4096)")
    parser.add_argument("--keep", type=Path, default=None, help="copy batches with problems here")
    parser.add_argument("--only", type=int, nargs="*", default=None, help="run only these case numbers, alone")
    parser.add_argument("--start", type=int, default=1, help="number of the first case (default 1)")
    args = parser.parse_args(argv)
    args.memory *= 2**20
    workdir = Path(tempfile.mkdtemp(prefix="icecube-fuzz-"))
    totals: Counter[str] = Counter()
    families: Counter[str] = Counter()
    problems: list[str] = []
    reported = 0
    start = time.monotonic()
    try:
        seeds = make_seeds(workdir / "seeds")
        if args.only:
            for line in _culprits(
                seeds, [write_case(seeds, workdir / "probe" / str(n), n, args.seed) for n in args.only], workdir, args
            ):
                print(line)
            return 0
        number = args.start
        while totals["cases"] < args.cases:
            count = min(args.batch, args.cases - totals["cases"])
            batch = workdir / f"batch{number:06d}"
            cases, goods = write_batch(seeds, batch, number, count, args.goods, args.seed)
            families.update(case.family for case in cases)
            outcome = run_index(batch, workdir, goods, args.timeout, args.memory)
            totals["cases"] += count
            totals["runs"] += 1
            totals["good products"] += len(goods)
            totals["failures reported"] += outcome.refused
            totals["mutants indexed"] += outcome.accepted
            totals["hrefs not URI-encoded"] += len(outcome.unencoded)
            problems += [f"batch {number}: href not URI-encoded: {c[:300]}" for c in outcome.unencoded]
            totals["crashes"] += len(outcome.crashes) + (outcome.status == "aborted")
            totals["aborted"] += outcome.status == "aborted"
            totals["invalid"] += bool(outcome.invalid or outcome.missing_good) if outcome.status == "ok" else 0
            totals["hangs"] += outcome.status == "hang"
            totals["memory"] += outcome.status == "memory"
            bad = outcome.status != "ok" or outcome.crashes or outcome.invalid or outcome.missing_good
            if bad:
                problems.append(f"batch {number}: {outcome.status} {outcome.error[:300]}")
                problems += [f"  crash: {c[:400]}" for c in outcome.crashes]
                problems += [f"  invalid: {c[:400]}" for c in outcome.invalid]
                problems += [f"  good product not indexed: {c}" for c in outcome.missing_good]
                problems += [f"  culprit: {c}" for c in _culprits(seeds, cases, workdir, args)]
                print("\n" + "\n".join(line[:2000] for line in problems[reported:]), file=sys.stderr, flush=True)
                reported = len(problems)
                if args.keep is not None:
                    shutil.copytree(
                        batch, args.keep / batch.name, symlinks=True, dirs_exist_ok=True, ignore_dangling_symlinks=True
                    )
            shutil.rmtree(batch, ignore_errors=True)
            number += count
            print(
                f"\r{totals['cases']}/{args.cases} cases, {totals['runs']} runs, {time.monotonic() - start:.0f} s",
                end="",
                file=sys.stderr,
                flush=True,
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(file=sys.stderr)
    print(
        f"fuzz_products: seed {args.seed}, {args.batch} cases + {args.goods} good products per run, "
        f"{args.timeout:g} s and {args.memory // 2**20} MiB per run, {time.monotonic() - start:.0f} s in all"
    )
    print("families: " + ", ".join(f"{k} {v}" for k, v in sorted(families.items())))
    columns = ["cases", "runs", "good products", "failures reported", "mutants indexed"]
    columns += ["crashes", "aborted", "invalid", "hangs", "memory", "hrefs not URI-encoded"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("---:" for _ in columns) + "|")
    print("| " + " | ".join(str(totals[c]) for c in columns) + " |")
    for line in problems:
        print(line)
    return 1 if any(totals[c] for c in columns[5:10]) else 0


if __name__ == "__main__":
    sys.exit(main())
