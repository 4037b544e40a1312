"""The package figure style: every public plotting function returns a figure whose panels have
titles, axis labels and (where they hold labelled artists) a legend; the map, ellipse and
region helpers; the style context."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.figure import Figure

from trackers.impact.alerts import AlertTimeline
from trackers.plotting import plot_flight
from trackers.plotting_style import (
    OBJECT_COLOURS,
    REGION_LON_LAT,
    TRACKER_COLOURS,
    ellipse_lonlat,
    impact_ellipse,
    region_map,
    shade_region,
    style,
)
from trackers.plotting_tracks import plot_alert_map, plot_alert_timeline, plot_tracks


def panel_problems(fig: Figure) -> list[str]:
    """What a figure's panels lack: a legend where there are labelled artists, a title, labels."""
    out = []
    has_suptitle = fig._suptitle is not None and fig._suptitle.get_text()
    for i, ax in enumerate(fig.axes):
        handles, _ = ax.get_legend_handles_labels()
        if handles and ax.get_legend() is None:
            out.append(f"axes {i}: labelled artists but no legend")
        if not ax.get_title() and not has_suptitle:
            out.append(f"axes {i}: no title")
        if not ax.get_ylabel():
            out.append(f"axes {i}: no y label")
        shared = ax.get_shared_x_axes().get_siblings(ax)
        if not any(a.get_xlabel() for a in shared):
            out.append(f"axes {i}: no x label")
    return out


@pytest.fixture(scope="module")
def case():
    from trackers.impact.from_tracks import impact_log
    from trackers.impact.regions import load_regions
    from trackers.studies import get_kind
    from trackers.studies.kinds_tracking import tracked_runs

    kind = get_kind("tracking")
    cfg = kind.resolve({"t_end_s": 80.0, "epoch_s": 10.0, "tracker": ["naive"]}, "config")
    tr = tracked_runs(cfg, range(0, 1), np.random.SeedSequence(2), ["naive"])
    res = tr.results["naive"]
    region = load_regions()["hokkaido"]
    imp = impact_log(res.log, {"hokkaido": region}, hits=res.hits, step=10.0)
    return tr.flight, res, imp, region


def test_every_plotting_function_has_legends_titles_and_labels(case, tmp_path) -> None:
    flight, res, imp, region = case
    rv = flight.object("rv")
    tl = AlertTimeline("hokkaido", np.array([0, 1]), np.array([60.0, np.nan]),
                       np.array([90.0, np.nan]), np.array([2, 0]), np.array([1, 0]))  # fmt: skip
    events = [(e.t_s, e.object, e.kind) for e in flight.events]
    runs = [SimpleNamespace(timeline=tl, t_impact_true=float(rv.t[-1]), events=events,
                            system=s, scenario="h") for s in TRACKER_COLOURS]  # fmt: skip
    truths = {"rv": (float(rv.lat[-1]), float(rv.lon[-1]))}
    t_alert = float(np.unique(imp.t)[len(np.unique(imp.t)) // 2]) if imp.t.size else None
    figures = {
        "plot_flight": plot_flight(flight),  # saving renders: two of the four suffice
        "plot_tracks": plot_tracks(res.log, flight, None, run=0),
        "plot_alert_map": plot_alert_map(
            tmp_path / "m.png", truths, imp, 0, region, highlight=t_alert
        ),
        "plot_alert_timeline": plot_alert_timeline(tmp_path / "l.png", runs, title="x"),
    }
    for name, fig in figures.items():
        assert isinstance(fig, Figure), name
        assert panel_problems(fig) == [], name
    for f in ("m", "l"):
        assert (tmp_path / f"{f}.png").stat().st_size > 10_000
    # the region is shaded and in the legend; the map covers Korea to Hokkaido
    ax = figures["plot_alert_map"].axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(s.startswith("alert region") for s in labels) and "true: rv" in labels
    assert (*ax.get_xlim(), *ax.get_ylim()) == pytest.approx(REGION_LON_LAT)
    # truth lines of plot_tracks keep each object's colour
    ax_map = figures["plot_tracks"].axes[0]
    colours = {ln.get_label(): ln.get_color() for ln in ax_map.lines}
    assert colours["truth: rv"] == OBJECT_COLOURS["rv"]
    assert colours["truth: stage-1"] == OBJECT_COLOURS["stage-1"]
    # the timeline: one bar for run 0 in each system's colour, the no-alert run without one
    ax0 = figures["plot_alert_timeline"].axes[0]
    bars = [ln for ln in ax0.lines if ln.get_label() == "alert active"]
    assert len(bars) == 1 and bars[0].get_color() == TRACKER_COLOURS["naive"]


def test_the_checker_fails_a_bare_figure() -> None:
    fig = Figure()
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], label="a line")
    problems = panel_problems(fig)
    assert "axes 0: labelled artists but no legend" in problems
    assert "axes 0: no title" in problems and "axes 0: no x label" in problems


def test_style_context_sets_and_restores_rcparams() -> None:
    before = mpl.rcParams["font.size"], mpl.rcParams["savefig.dpi"]
    with style():
        assert mpl.rcParams["font.size"] == 9.0 and mpl.rcParams["savefig.dpi"] == 120
        assert mpl.rcParams["axes.prop_cycle"].by_key()["color"][0] == "#0072B2"
    assert (mpl.rcParams["font.size"], mpl.rcParams["savefig.dpi"]) == before


def test_region_map_ellipse_and_region_helpers() -> None:
    fig = Figure()
    ax = fig.subplots()
    region_map(ax)
    names = {t.get_text() for t in ax.texts}
    assert {"Pyongyang", "Seoul", "Tokyo", "Sapporo", "HOKKAIDO", "Sea of Japan"} <= names
    assert len(ax.patches) > 20  # coastline polygons
    with pytest.raises(ValueError, match="extent"):
        region_map(ax, (140.0, 130.0, 30.0, 40.0))
    # a 10 km (east) x 20 km (north) 1-sigma ellipse at 40N 135E, 2 sigma: half-axes 20, 40 km
    lat0, lon0 = np.radians(40.0), np.radians(135.0)
    lon, lat = ellipse_lonlat((lat0, lon0), np.diag([10e3**2, 20e3**2]), 2.0)
    a = 6378137.0
    assert np.ptp(np.radians(lat)) / 2 * a == pytest.approx(40e3, rel=1e-3)
    assert np.ptp(np.radians(lon)) / 2 * a * np.cos(lat0) == pytest.approx(20e3, rel=1e-3)
    line = impact_ellipse(ax, (lat0, lon0), np.eye(2) * 1e8, color="k")
    assert line.get_xydata().shape == (73, 2)
    with pytest.raises(ValueError, match="cov"):
        impact_ellipse(ax, (lat0, lon0), np.eye(3))
    polys = shade_region(ax, "hokkaido")
    assert polys and polys[0].get_label() == "alert region (Hokkaido)"
    with pytest.raises(ValueError, match="no-such-region"):
        shade_region(ax, "no-such-region")
