"""Package data: map outline (Natural Earth, public domain)."""
