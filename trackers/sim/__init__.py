"""Multistage ballistic-missile flight simulation and the calibrated scenario catalog.

Public API::

    from trackers.sim import load_scenario, list_scenarios, simulate, Scenario
    flight = simulate(load_scenario("hokkaido-2023"), rate_hz=10.0)   # -> truth.Flight

See :mod:`trackers.sim.scenario` (file format), :mod:`trackers.sim.vehicle`,
:mod:`trackers.sim.guidance`, :mod:`trackers.sim.dynamics` (equations of motion),
:mod:`trackers.sim.tables` (scalar Cd(Mach) / pitch-schedule lookups),
:mod:`trackers.sim.simulate` (staging and events), :mod:`trackers.sim.solve` (one-parameter
tuning), :mod:`trackers.sim.calibrate` (multi-objective re-calibration of a scenario file),
:mod:`trackers.sim.summary` (summary.json) and :mod:`trackers.sim.geography` (EEZ / coast
polylines).
"""

from trackers.sim.guidance import Guidance
from trackers.sim.scenario import (
    Calibration,
    Scenario,
    ScenarioError,
    Sensors,
    list_scenarios,
    load_scenario,
    loads_scenario,
)
from trackers.sim.simulate import SimulationError, simulate
from trackers.sim.solve import flight_outcomes, solve_for
from trackers.sim.summary import flight_summary
from trackers.sim.truth import Event, Flight, ObjectTrajectory
from trackers.sim.vehicle import Debris, Launch, Stage, Vehicle

__all__ = [
    "Calibration",
    "Debris",
    "Event",
    "Flight",
    "Guidance",
    "Launch",
    "ObjectTrajectory",
    "Scenario",
    "ScenarioError",
    "Sensors",
    "SimulationError",
    "Stage",
    "Vehicle",
    "flight_outcomes",
    "flight_summary",
    "list_scenarios",
    "load_scenario",
    "loads_scenario",
    "simulate",
    "solve_for",
]
