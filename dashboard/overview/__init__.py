"""The Overview: health at a glance and the first steps."""
