"""impact subpackage."""
