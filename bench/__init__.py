"""logsieve benchmarks: ingest (durable / no-write), batch stage, peak memory, PostgreSQL.

Run `python -m bench` (or `make bench`); `--quick` for a smoke run, `--only NAME` for one.
"""
