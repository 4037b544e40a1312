"""sensors subpackage."""
