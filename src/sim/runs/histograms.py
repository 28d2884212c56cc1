"""A run's histograms as a labelled xarray Dataset, kept in a run folder as ``histograms.nc``.

The counts are those of :class:`sim.runs.summary.Aggregate`, named and labelled:

``capital_falls`` (day)               replications whose capital fell in each day bin
``capital_falls_daily`` (whole_day)   the same in whole days d: d - 1 < fall day <= d
``end_state_falls`` (end_state, day)  the same for ``captured`` and ``collapsed`` alone
``node_falls`` (node, day)            replications in which each node first fell in each day bin
``control`` (control_day, share)      replications whose government-held share on that day was ``share``
``control_weight`` (node)             each node's share of the theatre if government-held

Coordinate ``day`` is each bin's lower edge in days after as_of (bins of ``bin_days``, an
attribute); ``node`` holds the node names. The Dataset's attributes name the scenario, its as_of,
horizon, replications and seed. The file is netCDF3 (xarray's scipy engine: no system library),
which has no 64-bit integers: counts are stored as int32 (a run has at most 10^9 replications) and
read back as int64.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..errors import ResultsError
from ..files import read_bytes
from . import control_share
from .summary import Aggregate

__all__ = ["HISTOGRAMS", "HISTOGRAMS_FORMAT", "COUNTS", "dataset", "write", "read"]

HISTOGRAMS = "histograms.nc"
HISTOGRAMS_FORMAT = 1   # version of histograms.nc's variables and attributes
COUNTS = ("capital_falls", "capital_falls_daily", "end_state_falls", "node_falls", "control")
REQUIRED = ("capital_falls", "capital_falls_daily", "end_state_falls", "node_falls")
LIMIT = 2**31           # bytes: 100,000 bins of a few hundred nodes, with room
UNITS = "replications"
DAYS = "days after as_of"  # not "since": CF readers would take it for a calendar time


def dataset(agg: Aggregate, *, scenario, seed: int, node_names):
    """The labelled Dataset of a run's aggregate (``scenario`` gives its name, title, as_of, horizon)."""
    import xarray as xr

    bins = len(agg.capital_hist)
    coords = {
        "day": ("day", np.arange(bins) * agg.width, {"units": DAYS, "long_name": "lower edge of the day bin"}),
        "whole_day": ("whole_day", np.arange(len(agg.capital_daily)),
                      {"units": DAYS, "long_name": "whole day d, counting falls with d - 1 < day <= d"}),
        "node": ("node", list(node_names)),
        "end_state": ("end_state", ["captured", "collapsed"]),
    }
    data = {
        "capital_falls": (("day",), agg.capital_hist, {"units": UNITS}),
        "capital_falls_daily": (("whole_day",), agg.capital_daily, {"units": UNITS}),
        "end_state_falls": (("end_state", "day"), agg.end_hist, {"units": UNITS}),
        "node_falls": (("node", "day"), agg.node_hist, {"units": UNITS, "long_name": "first falls"}),
        "control_weight": (("node",), agg.control_weights,
                           {"units": "share of the theatre", "basis": agg.control_basis}),
    }
    if len(agg.control_days):
        coords["control_day"] = ("control_day", agg.control_days, {"units": DAYS})
        coords["share"] = ("share", np.arange(control_share.SHARE_BINS) * control_share.SHARE_STEP,
                           {"units": "share of the theatre held by the government"})
        data["control"] = (("control_day", "share"), agg.control_hist, {"units": UNITS})
    attrs = {"format": HISTOGRAMS_FORMAT, "scenario": scenario.name, "title": scenario.title,
             "as_of": scenario.as_of.isoformat(), "horizon_days": scenario.horizon_days, "reps": agg.n,
             "seed": str(seed), "bin_days": agg.width, "control_basis": agg.control_basis}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def write(ds, path: Path) -> None:
    """Write ``ds`` as netCDF3 at ``path`` (a file in a staged folder: :func:`sim.files.staged_folder`)."""
    ds = ds.copy()
    for name in COUNTS:
        if name in ds:
            ds[name] = ds[name].astype(np.int32)  # netCDF3 has no int64; counts are at most 10^9
    ds.to_netcdf(Path(path), engine="scipy", format="NETCDF3_64BIT")


def read(path: Path):
    """The Dataset in a run's histograms.nc (read through :func:`sim.files.read_bytes`), counts as
    int64; :class:`ResultsError` (one line) if it is damaged or not a run's histograms."""
    import xarray as xr

    path = Path(path)
    raw = read_bytes(path, limit=LIMIT, error=lambda m: ResultsError(path, m), what="results file")
    try:
        with xr.open_dataset(io.BytesIO(raw), engine="scipy", decode_times=False) as f:
            ds = f.load()
    except Exception as exc:  # scipy's reader raises TypeError, ValueError, OSError... on a damaged file
        raise ResultsError(path, f"cannot be read ({type(exc).__name__}: {exc})") from None
    if ds.attrs.get("format") != HISTOGRAMS_FORMAT:
        raise ResultsError(path, f"has histograms format {ds.attrs.get('format')!r}, this version reads "
                                 f"{HISTOGRAMS_FORMAT}: write the run again (sim rerun {path.parent} --out NEW_FOLDER)")
    missing = [name for name in REQUIRED if name not in ds]
    if missing or "bin_days" not in ds.attrs:
        raise ResultsError(path, f"is not a run's histograms (no {', '.join(missing) or 'bin_days'})")
    for name in COUNTS:
        if name in ds:
            ds[name] = ds[name].astype(np.int64)
    return ds
