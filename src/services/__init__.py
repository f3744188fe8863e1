"""Building Vitals timeseries edge service: the logic behind src/entry.py."""
