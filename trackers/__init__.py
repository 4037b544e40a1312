"""ballistic-trackers: tracking multistage ballistic missiles through stage separation.

Subpackages (docs/architecture.md): ``earth`` (WGS-84, gravity, atmosphere), ``sim``
(vehicles, staging, trajectories, scenario catalog), ``sensors`` (radars, data links),
``models`` (motion and measurement models), ``filters`` (batched KF/EKF/UKF/CKF/IMM),
``tracking``, ``impact``, ``metrics``, ``io``, ``baselines``.
"""

__version__ = "0.1.0"
