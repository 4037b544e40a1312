"""Multi-object tracking of the radar network's reports, batched over Monte Carlo runs.

Modules: ``scans`` (reports cut into per-radar scans; delivery at the consumer),
``config`` (tracker configurations: the naive baseline and the separation-aware tracker),
``tracker`` (the scan loop: gating, association, updates, track management, spawning),
``coarse`` (the coarse gate), ``late`` (late reports retrodicted into the tracks),
``table`` (the fixed-capacity track table), ``seeds`` (two-point initiation),
``classify`` (rv / stage labels), ``assignment`` (batched GNN), ``jpda`` (JPDA
probabilities and the PDAF combination), ``oosm`` (out-of-sequence reports), ``consumer``
(what the consumer holds when: delivery rules compared at measurement and consumer time).

Typical use::

    from trackers.tracking import ScanSequence, preset, track
    scans = ScanSequence.from_detections(det, radars)
    result = track(scans, radars, preset("separation-aware"), epochs=1.0)
    result.log   # trackers.metrics.tracking.TrackLog
"""

from trackers.tracking.assignment import gnn_assign
from trackers.tracking.classify import LABELS, label_tracks
from trackers.tracking.config import PRESETS, TrackerConfig, naive, preset, separation_aware
from trackers.tracking.jpda import jpda_probabilities, pda_combine
from trackers.tracking.scans import Scan, ScanSequence
from trackers.tracking.tracker import TrackerEvents, TrackerResult, build_estimator, track

__all__ = [
    "LABELS",
    "PRESETS",
    "Scan",
    "ScanSequence",
    "TrackerConfig",
    "TrackerEvents",
    "TrackerResult",
    "build_estimator",
    "gnn_assign",
    "jpda_probabilities",
    "label_tracks",
    "naive",
    "pda_combine",
    "preset",
    "separation_aware",
    "track",
]
