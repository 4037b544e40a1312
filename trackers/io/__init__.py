"""Dataset read/write, checksum manifests, run folders and provenance."""

from trackers.io.manifest import sha256_file, verify_manifest, write_manifest
from trackers.io.provenance import provenance, write_provenance
from trackers.io.runs import new_run_dir

__all__ = [
    "new_run_dir",
    "provenance",
    "sha256_file",
    "verify_manifest",
    "write_manifest",
    "write_provenance",
]
