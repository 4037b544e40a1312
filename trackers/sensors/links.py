"""Data links: which radar reports to which command node, and what it costs in time.

A :class:`Network` is a directed graph. Its vertices are radar ids and node ids (national
command centres, the US Indo-Pacific hub); its edges are :class:`Link` s with a latency

    latency = fixed + jitter,   jitter ~ 0 | Uniform(0, scale) | Exponential(mean = scale)

drawn independently per link and per message. A radar's scan is one message: all detections
of one scan share an arrival time. The path from a radar to the consuming node is the one of
least mean latency (Dijkstra) over links that share ``"detections"``; the total latency is the
sum along the path:

    t_arrival = t_meas + sum_{links l on path} (fixed_l + jitter_l)

Links are first-in-first-out: a radar's messages arrive in the order they were sent
(t_arrival_k = max(t_arrival_k, t_arrival_{k-1})), so arrivals from *different* radars can be
out of measurement order, which consumers see from the two timestamps.

Presets (``presets/networks.toml``): ``japan-only``, ``korea-only``, ``linked-via-hub``.
:func:`with_path_latency` gives a copy of a network whose detections entering one node reach
another with a chosen latency (the radar-linking study varies the Korea -> hub -> Japan
latency this way) while every other radar's path and every random draw stay the same.
Network files are UTF-8 TOML (a byte-order mark is accepted); every error in a file (not
UTF-8, TOML syntax, content) names the file (:mod:`trackers.io.tomlfile`).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trackers.io.tomlfile import parse_toml, read_toml

JITTERS = ("none", "uniform", "exponential")
SHARES = ("detections", "tracks")


@dataclass(frozen=True)
class Link:
    """A directed link ``source -> target`` (radar or node ids).

    Attributes
    ----------
    source, target : str
    latency : float [s]
        Fixed part of the latency (>= 0).
    jitter : "none", "uniform" or "exponential"
        Distribution of the random part: Uniform(0, jitter_scale) or Exponential with mean
        ``jitter_scale``.
    jitter_scale : float [s]
    shares : tuple[str, ...]
        What is sent over the link: subset of ``("detections", "tracks")``.
    """

    source: str
    target: str
    latency: float
    jitter: str = "none"
    jitter_scale: float = 0.0
    shares: tuple[str, ...] = SHARES

    def __post_init__(self) -> None:
        name = f"link {self.source!r} -> {self.target!r}"
        for f in ("latency", "jitter_scale"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ValueError(f"{name}: {f} = {v!r}, expected a finite number of seconds")
            if v < 0:
                raise ValueError(f"{name}: {f} = {v!r} s, expected >= 0")
        if self.jitter not in JITTERS:
            raise ValueError(f"{name}: jitter = {self.jitter!r}, expected one of {JITTERS}")
        bad = [s for s in self.shares if s not in SHARES]
        if bad or not self.shares:
            raise ValueError(f"{name}: shares = {self.shares!r}, expected a subset of {SHARES}")

    @property
    def mean_latency(self) -> float:
        """E[latency] = fixed + E[jitter] [s]."""
        return self.latency + (
            0.5 * self.jitter_scale if self.jitter == "uniform" else
            self.jitter_scale if self.jitter == "exponential" else 0.0
        )  # fmt: skip

    def sample(self, rng: np.random.Generator, shape) -> NDArray[np.float64]:
        """Latency draws [s] of the given shape."""
        if self.jitter == "uniform":
            return self.latency + self.jitter_scale * rng.random(shape)
        if self.jitter == "exponential":
            return self.latency + self.jitter_scale * rng.standard_exponential(shape)
        return np.full(shape, float(self.latency))


@dataclass(frozen=True)
class Network:
    """A reporting network: nodes, radars and the links between them.

    Attributes
    ----------
    id : str
    nodes : tuple[str, ...]
        Command node ids (e.g. ``"japan"``, ``"korea"``, ``"hub"``).
    radars : tuple[str, ...]
        Ids of the radars that report into the network.
    links : tuple[Link, ...]
        Directed links (radar -> node, node -> node).
    consumer : str
        Default consuming node (where arrival times are measured).
    description, source : str
    assumptions : tuple[str, ...]
    """

    id: str
    nodes: tuple[str, ...]
    radars: tuple[str, ...]
    links: tuple[Link, ...]
    consumer: str
    description: str = ""
    source: str = ""
    assumptions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        where = f"network {self.id!r}"
        if not self.nodes:
            raise ValueError(f"{where}: needs at least one node")
        clash = set(self.nodes) & set(self.radars)
        if clash:
            raise ValueError(f"{where}: ids used both as node and radar: {sorted(clash)}")
        known = set(self.nodes) | set(self.radars)
        for link in self.links:
            for end in (link.source, link.target):
                if end not in known:
                    raise ValueError(
                        f"{where}: link {link.source!r} -> {link.target!r} names unknown "
                        f"radar/node {end!r}; nodes {list(self.nodes)}, radars {list(self.radars)}"
                    )
            if link.target in self.radars:
                raise ValueError(f"{where}: link into radar {link.target!r}; radars only send")
        if self.consumer not in self.nodes:
            raise ValueError(
                f"{where}: consumer {self.consumer!r} is not a node; nodes {list(self.nodes)}"
            )

    def path(self, radar_id: str, consumer: str | None = None,
             what: str = "detections") -> tuple[Link, ...]:  # fmt: skip
        """Least-mean-latency chain of links from a radar to ``consumer`` carrying ``what``.

        Raises ``ValueError`` if the radar is not in the network or cannot reach the consumer.
        """
        consumer = self.consumer if consumer is None else consumer
        if consumer not in self.nodes:
            raise ValueError(f"consumer {consumer!r} is not a node of {self.id!r}: {self.nodes}")
        if radar_id not in self.radars:
            raise ValueError(f"radar {radar_id!r} does not report into network {self.id!r}; "
                             f"its radars: {list(self.radars)}")  # fmt: skip
        # Dijkstra on mean latency.
        best: dict[str, float] = {radar_id: 0.0}
        prev: dict[str, Link] = {}
        heap: list[tuple[float, str]] = [(0.0, radar_id)]
        while heap:
            d, u = heapq.heappop(heap)
            if u == consumer:
                break
            if d > best.get(u, math.inf):
                continue
            for link in self.links:
                if link.source != u or what not in link.shares:
                    continue
                nd = d + link.mean_latency
                if nd < best.get(link.target, math.inf):
                    best[link.target] = nd
                    prev[link.target] = link
                    heapq.heappush(heap, (nd, link.target))
        if consumer not in best:
            raise ValueError(
                f"network {self.id!r}: no path carrying {what!r} from radar {radar_id!r} to "
                f"{consumer!r}"
            )
        chain = []
        node = consumer
        while node != radar_id:
            chain.append(prev[node])
            node = prev[node].source
        return tuple(reversed(chain))

    def path_latency(self, radar_id: str, rng: np.random.Generator, shape,
                     consumer: str | None = None) -> NDArray[np.float64]:  # fmt: skip
        """Total latency draws [s] along the radar's path, of the given shape."""
        total = np.zeros(shape)
        for link in self.path(radar_id, consumer):
            total += link.sample(rng, shape)
        return total


def _check_seconds(name: str, value: Any) -> float:
    """``value`` as a float if it is a finite number of seconds >= 0, else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} = {value!r}, expected a finite number of seconds")
    if value < 0:
        raise ValueError(f"{name} = {value!r} s, expected >= 0")
    return float(value)


def with_path_latency(
    network: Network, path: Sequence[str], latency_s: float, *, jitter_s: float = 0.0
) -> Network:
    """A copy of ``network`` in which detections entering ``path[0]`` reach ``path[-1]`` over
    the node path with total fixed latency ``latency_s``; nothing else changes.

    The k links of the path (``path[i] -> path[i + 1]``, each must exist and carry
    detections) are duplicated as a private chain ``path[0] -> relay_1 -> ... -> path[-1]``
    whose intermediate nodes are relays named ``"<node>(<path[0]>)"`` (``"hub(korea)"``), so
    that other traffic through those nodes (the TPY-2s' hub -> Japan leg) keeps its links.
    Each chain link gets ``latency_s / k`` fixed latency and jitter scale ``jitter_s / k``
    with the *kind* of jitter of the link it copies; the original first link stops carrying
    detections (it keeps carrying tracks if it did). For k = 1 the link itself is changed.

    Keeping each link's jitter kind keeps the random draws of
    :func:`trackers.sensors.observe` the same: it draws per link on a radar's path whatever
    the scale (``jitter = "none"`` draws nothing), so with the same seed only the arrival
    times of the radars routed through ``path[0]`` change; their measurements and every other
    radar's rows are bit-identical. Then, for a radar whose path runs through the chain,

        t_arrival = FIFO(t_meas + latency to path[0] + sum_chain (latency_s / k + jitter_l))

    Parameters
    ----------
    network : Network
    path : sequence of str
        Distinct node ids, at least two (e.g. ``("korea", "hub", "japan")``).
    latency_s : float [s]
        Total fixed latency of the chain, >= 0.
    jitter_s : float [s]
        Total jitter scale of the chain, >= 0 (0: a deterministic chain latency). Spread
        over the links whose jitter kind is not ``"none"``; ``ValueError`` if > 0 and there
        is none.

    Returns
    -------
    Network
        Same consumer and radars; nodes gain the relays; ``id`` names the change, e.g.
        ``"linked-via-hub[korea->hub->japan=5s]"``.

    Raises
    ------
    TypeError
        ``network`` is not a Network.
    ValueError
        A bad path (unknown, repeated or fewer than two nodes, a missing link), bad seconds,
        or a radar reporting into ``path[0]`` that would still reach ``path[-1]`` by another
        route.
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a Network, got {type(network).__name__}")
    if isinstance(path, str) or not all(isinstance(n, str) for n in path):
        raise ValueError(f"path = {path!r}, expected a sequence of node ids")
    path = tuple(path)
    if len(path) < 2 or len(set(path)) != len(path):
        raise ValueError(f"path = {path!r}, expected at least two distinct node ids")
    unknown = [n for n in path if n not in network.nodes]
    if unknown:
        raise ValueError(f"path = {path!r}: {unknown} not node(s) of network {network.id!r}; "
                         f"nodes {list(network.nodes)}")  # fmt: skip
    latency_s = _check_seconds("latency_s", latency_s)
    jitter_s = _check_seconds("jitter_s", jitter_s)
    hops = []
    for a, b in itertools.pairwise(path):
        found = [ln for ln in network.links if ln.source == a and ln.target == b
                 and "detections" in ln.shares]  # fmt: skip
        if not found:
            raise ValueError(f"path = {path!r}: network {network.id!r} has no link {a!r} -> "
                             f"{b!r} carrying detections")  # fmt: skip
        hops.append(found[0])
    k = len(hops)
    n_jit = sum(h.jitter != "none" for h in hops)
    if jitter_s > 0 and n_jit == 0:
        raise ValueError(f"jitter_s = {jitter_s!r} s but no link of path {path!r} has jitter")
    relays = tuple(f"{n}({path[0]})" for n in path[1:-1])
    clash = [r for r in relays if r in network.nodes or r in network.radars]
    if clash:
        raise ValueError(f"relay id(s) {clash} already used in network {network.id!r}")
    ends = (path[0], *relays, path[-1])
    chain = tuple(
        replace(h, source=ends[i], target=ends[i + 1], latency=latency_s / k,
                jitter_scale=jitter_s / n_jit if h.jitter != "none" else 0.0,
                shares=("detections",))
        for i, h in enumerate(hops)
    )  # fmt: skip
    links: list[Link] = []
    for link in network.links:
        if link is hops[0]:
            rest = tuple(s for s in link.shares if s != "detections")
            if rest and k > 1:
                links.append(replace(link, shares=rest))
            continue
        links.append(link)
    if k == 1:  # the link itself, in place (same list position: same Dijkstra ties)
        links.insert(network.links.index(hops[0]), chain[0])
    else:
        links.extend(chain)
    out = replace(
        network,
        id=f"{network.id}[{'->'.join(path)}={latency_s:g}s]",
        nodes=network.nodes + relays,
        links=tuple(links),
        description=(network.description + f"; detections {'->'.join(path)}: {latency_s:g} s"
                     + (f" + jitter (scale {jitter_s:g} s)" if jitter_s else "")),
    )  # fmt: skip
    # the radars that report into path[0] must now take the chain
    for r in (ln.source for ln in network.links if ln.target == path[0] and ln.source in
              network.radars):  # fmt: skip
        try:
            route = out.path(r, path[-1])
        except ValueError:
            continue
        if not set(chain) <= set(route):
            raise ValueError(f"radar {r!r} reaches {path[-1]!r} from {path[0]!r} by another route "
                             f"than {path!r} in network {network.id!r}")  # fmt: skip
    return out


# ---------------------------------------------------------------------------- file loading
_NET_KEYS = {"description", "source", "assumptions", "nodes", "consumer", "reports", "links"}
_LINK_KEYS = {"from", "to", "radars", "latency_s", "jitter", "jitter_s", "shares", "bidirectional"}


def _strings(value: Any, what: str) -> list[str]:
    """``value`` if it is a list of strings, else ``ValueError`` naming ``what``."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} = {value!r}, expected a list of strings")
    return value


def _links_from(entries: Any, where: str, kind: str) -> list[Link]:
    if not isinstance(entries, list):
        raise ValueError(f"{where}: {kind!r} must be an array of tables")
    out = []
    for i, e in enumerate(entries):
        w = f"{where}: {kind}[{i}]"
        if not isinstance(e, dict):
            raise ValueError(f"{w} must be a table")
        unknown = sorted(set(e) - _LINK_KEYS)
        if unknown:
            raise ValueError(f"{w}: unknown key(s) {unknown}; allowed {sorted(_LINK_KEYS)}")
        if "latency_s" not in e:
            raise ValueError(f"{w}: missing required key 'latency_s'")
        if "to" not in e:
            raise ValueError(f"{w}: missing required key 'to'")
        if kind == "reports":
            if "radars" not in e or "from" in e:
                raise ValueError(f"{w}: a report needs 'radars' (a list of radar ids), not 'from'")
            sources = _strings(e["radars"], f"{w}: 'radars'")
        else:
            if "from" not in e or "radars" in e:
                raise ValueError(f"{w}: a link needs 'from' (a node id), not 'radars'")
            sources = _strings([e["from"]], f"{w}: 'from'")
        _strings([e["to"]], f"{w}: 'to'")
        if not isinstance(e.get("bidirectional", False), bool):
            raise ValueError(f"{w}: 'bidirectional' = {e['bidirectional']!r}, expected true/false")
        kw = dict(
            latency=e["latency_s"],
            jitter=e.get("jitter", "none"),
            jitter_scale=e.get("jitter_s", 0.0),
            shares=tuple(_strings(e.get("shares", list(SHARES)), f"{w}: 'shares'")),
        )
        try:
            for s in sources:
                out.append(Link(source=s, target=e["to"], **kw))
                if e.get("bidirectional", False):
                    out.append(Link(source=e["to"], target=s, **kw))
        except ValueError as exc:
            raise ValueError(f"{w}: {exc}") from exc
    return out


def network_from_dict(net_id: str, d: dict[str, Any], radar_ids=None) -> Network:
    """Build a :class:`Network` from one decoded TOML table.

    ``radar_ids``: the ids of known radars (default: the presets); a report naming any other
    radar raises ``ValueError``.
    """
    where = f"network {net_id!r}"
    unknown = sorted(set(d) - _NET_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; allowed {sorted(_NET_KEYS)}")
    for k in ("nodes", "consumer", "reports"):
        if k not in d:
            raise ValueError(f"{where}: missing required key {k!r}")
    nodes = d["nodes"]
    if isinstance(nodes, dict):
        nodes = list(nodes)
    _strings(nodes, f"{where}: 'nodes'")
    if not isinstance(d["consumer"], str):
        raise ValueError(f"{where}: 'consumer' = {d['consumer']!r}, expected a node id string")
    reports = _links_from(d["reports"], where, "reports")
    links = _links_from(d.get("links", []), where, "links")
    radars = tuple(dict.fromkeys(link.source for link in reports))
    if radar_ids is None:
        from trackers.sensors.catalog import preset_radars

        radar_ids = [r.id for r in preset_radars()]
    bad = [r for r in radars if r not in set(radar_ids)]
    if bad:
        raise ValueError(f"{where}: unknown radar id(s) {bad}; known: {sorted(radar_ids)}")
    return Network(
        id=net_id,
        nodes=tuple(nodes),
        radars=radars,
        links=tuple(reports + links),
        consumer=d["consumer"],
        description=d.get("description", ""),
        source=d.get("source", ""),
        assumptions=tuple(d.get("assumptions", ())),
    )


def networks_from_toml(data: dict[str, Any], origin: str = "<toml>",
                       radar_ids=None) -> dict[str, Network]:  # fmt: skip
    """Parse a networks document ``[networks.<id>]`` into ``{id: Network}``."""
    unknown = sorted(set(data) - {"networks"})
    if unknown or not isinstance(data.get("networks"), dict) or not data["networks"]:
        raise ValueError(f"{origin}: expected only a non-empty [networks.<id>] table, "
                         f"unknown top-level key(s) {unknown}")  # fmt: skip
    out = {}
    for k, v in data["networks"].items():
        try:
            out[k] = network_from_dict(k, v, radar_ids)
        except ValueError as exc:
            raise ValueError(f"{origin}: {exc}") from None
    return out


def preset_networks() -> dict[str, Network]:
    """All packaged preset networks (``presets/networks.toml``)."""
    text = resources.files("trackers.sensors").joinpath("presets/networks.toml").read_text("utf-8")
    return networks_from_toml(parse_toml(text, "presets/networks.toml"), "presets/networks.toml")


def load_network(name_or_path: str | Path, radar_ids=None) -> Network:
    """A preset network by name, or the single network in a user's TOML file.

    A path may also be ``"file.toml:name"`` to pick one of several networks in a file.
    """
    s = str(name_or_path)
    presets = preset_networks()
    if s in presets:
        return presets[s]
    pick = None
    if ":" in s and not Path(s).exists():
        s, pick = s.rsplit(":", 1)
    p = Path(s)
    if not p.suffix == ".toml" or not p.exists():
        raise ValueError(f"unknown network {name_or_path!r}: not a preset {sorted(presets)} "
                         "and not an existing .toml file")  # fmt: skip
    nets = networks_from_toml(read_toml(p), str(p), radar_ids)
    if pick is None:
        if len(nets) != 1:
            raise ValueError(f"{p}: holds networks {sorted(nets)}; name one as '{p}:<name>'")
        return next(iter(nets.values()))
    if pick not in nets:
        raise ValueError(f"{p}: no network {pick!r}; have {sorted(nets)}")
    return nets[pick]
