"""Radar network: sensor models, 4/3-Earth visibility, detection, clutter, resolution, data links.

Modules: ``radar`` (the Radar dataclass and its measurement function), ``catalog`` (preset and
user TOML radars), ``visibility`` (horizon, range, field of regard, coverage intervals),
``observation`` (:func:`observe`: Swerling-1 detection, merging, noise, clutter, latency,
over Monte Carlo draws),
``detections`` (the Detections table and its CSV), ``links`` (networks and latency),
``summary`` (first detections, lead times, text report), ``scenario`` (a scenario's
``[sensors]`` table), ``synthetic`` (Kepler-arc flights for tests and benchmarks).
Presets: ``presets/radars.toml`` (10 radars) and ``presets/networks.toml`` (3 networks);
every unpublished performance value there is listed as an assumption.

Typical use::

    from trackers.sensors import observe, sensors_for_scenario
    radars, network = sensors_for_scenario(scenario.sensors)
    det = observe(flight, radars, network, np.random.default_rng(1), runs=100)
"""

from trackers.sensors.catalog import load_radar_file, load_radars, preset_radars
from trackers.sensors.detections import Detections
from trackers.sensors.links import Link, Network, load_network, preset_networks
from trackers.sensors.observation import DEFAULT_RCS, observe, swerling1_pd
from trackers.sensors.radar import Radar
from trackers.sensors.scenario import sensors_for_scenario
from trackers.sensors.summary import (
    detection_counts,
    first_detection_times,
    first_detections,
    lead_time,
    report,
)
from trackers.sensors.visibility import coverage_intervals, effective_elevation, geometry, visible

__all__ = [
    "DEFAULT_RCS",
    "Detections",
    "Link",
    "Network",
    "Radar",
    "coverage_intervals",
    "detection_counts",
    "effective_elevation",
    "first_detection_times",
    "first_detections",
    "geometry",
    "lead_time",
    "load_network",
    "load_radar_file",
    "load_radars",
    "observe",
    "preset_networks",
    "preset_radars",
    "report",
    "sensors_for_scenario",
    "swerling1_pd",
    "visible",
]
