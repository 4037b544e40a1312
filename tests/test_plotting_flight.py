"""The flight figure: the whole Korea-Hokkaido region with place names, a visible rv impact
marker, burnout ticks above ignition markers, legends on the altitude panels."""

from __future__ import annotations

import numpy as np
import pytest

from trackers.plotting import REGION_LON_LAT, plot_flight
from trackers.sim import load_scenario, simulate


@pytest.fixture(scope="module")
def figure(tmp_path_factory):
    flight = simulate(load_scenario("hokkaido-2023"), rate_hz=0.5)
    path = tmp_path_factory.mktemp("fig") / "flight.png"
    return flight, plot_flight(flight, path), path


def test_map_shows_korea_to_hokkaido_with_names(figure) -> None:
    _, fig, path = figure
    ax_map = fig.axes[0]
    x0, x1 = ax_map.get_xlim()
    y0, y1 = ax_map.get_ylim()
    assert x0 <= 124.5 and x1 >= 145.9  # Korea's west coast to Hokkaido's east cape (145.8E)
    assert y0 <= 33.5 and y1 >= 45.6  # Jeju to Cape Soya (45.5N)
    assert (x0, x1, y0, y1) == pytest.approx(REGION_LON_LAT)  # the tracks fit in the region
    names = {t.get_text() for t in ax_map.texts}
    assert {"Pyongyang", "Seoul", "Sapporo", "Tokyo", "HOKKAIDO", "Sea of Japan"} <= names
    assert path.stat().st_size > 50_000  # a real PNG was written


def test_rv_impact_marker_is_not_hidden(figure) -> None:
    flight, fig, _ = figure
    ax_map = fig.axes[0]
    marks = [ln for ln in ax_map.lines if ln.get_marker() == "v" and len(ln.get_xdata()) == 1]
    rv = flight.object("rv")
    at_rv = [ln for ln in marks if np.isclose(ln.get_xdata()[0], np.degrees(rv.lon[-1]))]
    (rv_mark,) = at_rv
    others = [ln for ln in marks if ln is not rv_mark]
    assert len(others) == len(flight.objects) - 1
    # drawn larger than every other impact marker, so a stage landing on it leaves a rim
    assert all(rv_mark.get_markersize() > ln.get_markersize() for ln in others)
    near = [ln for ln in others if abs(ln.get_xdata()[0] - rv_mark.get_xdata()[0]) < 0.5]
    assert near  # stage-3 lands next to the rv: the case that used to hide it


def test_altitude_panels_have_legends_and_visible_burnout(figure) -> None:
    flight, fig, _ = figure
    _, ax_alt, ax_boost = fig.axes
    objects = [t.get_text() for t in ax_alt.get_legend().get_texts()]
    assert objects == [o.id for o in flight.objects]
    events = [t.get_text() for t in ax_boost.get_legend().get_texts()]
    assert events == ["ignition", "burnout", "separation", "apogee", "impact"]
    z = {ln.get_marker(): ln.get_zorder() for ln in ax_boost.lines if ln.get_linestyle() == "None"}
    assert z["|"] > z["^"]  # burnout ticks over the next ignition's triangle
    x_lo, x_hi = ax_boost.get_xlim()
    burnouts = [e.t_s / 60.0 for e in flight.events if e.kind == "burnout"]
    assert all(x_lo <= t <= x_hi for t in burnouts)
