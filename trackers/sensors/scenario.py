"""Pick a scenario's radars and network from its ``[sensors]`` table.

A scenario file may say::

    [sensors]
    radars = ["greenpine-north", "fps5-sado"]  # preset ids; absent: all of the network's
    network = "linked-via-hub"  # preset name or a .toml path; absent: linked-via-hub
"""

from __future__ import annotations

from typing import Any

from trackers.sensors.catalog import load_radars
from trackers.sensors.links import Network, load_network
from trackers.sensors.radar import Radar

DEFAULT_NETWORK = "linked-via-hub"


def sensors_for_scenario(table: Any = None) -> tuple[tuple[Radar, ...], Network]:
    """(radars, network) for a scenario's ``[sensors]`` table.

    ``table`` may be None, a dict (the decoded TOML table, keys ``radars``, ``network``), an
    object with ``radars`` / ``network`` attributes (``trackers.sim.scenario.Sensors``), or a
    Scenario with a ``sensors`` attribute. Defaults: network ``linked-via-hub``; radars = all
    radars of the network. Every chosen radar must report into the network.

    Raises ``ValueError`` naming the ``[sensors]`` key at fault (an unknown radar id, an
    unknown network, a radar outside the network); cheap (no flight), so callers can check a
    scenario's sensors before they simulate or write anything.
    """
    if table is not None and not isinstance(table, dict) and hasattr(table, "launch"):
        table = getattr(table, "sensors", None)  # a Scenario
    if table is None:
        radars_ids, net_name = None, ""
    elif isinstance(table, dict):
        unknown = sorted(set(table) - {"radars", "network"})
        if unknown:
            raise ValueError(f"[sensors]: unknown key(s) {unknown}; allowed ['network', 'radars']")
        radars_ids, net_name = table.get("radars"), table.get("network", "")
    elif hasattr(table, "radars") and hasattr(table, "network"):
        radars_ids, net_name = table.radars, table.network
    else:
        raise TypeError(f"[sensors] table must be a dict or have radars/network, got {type(table)}")
    if net_name is not None and not isinstance(net_name, str):
        raise ValueError(f"[sensors].network = {net_name!r}, expected a string")
    try:
        network = load_network(net_name or DEFAULT_NETWORK)
    except ValueError as exc:
        raise ValueError(f"[sensors].network: {exc}") from None
    if radars_ids is None or len(radars_ids) == 0:
        radars_ids = network.radars
    if isinstance(radars_ids, str) or not all(isinstance(r, str) for r in radars_ids):
        raise ValueError(f"[sensors].radars = {radars_ids!r}, expected a list of radar ids")
    try:
        radars = load_radars(list(radars_ids))
    except ValueError as exc:
        raise ValueError(f"[sensors].radars: {exc}") from None
    missing = [r.id for r in radars if r.id not in network.radars]
    if missing:
        raise ValueError(
            f"[sensors]: radar(s) {missing} do not report into network {network.id!r} "
            f"(its radars: {list(network.radars)})"
        )
    return radars, network
