"""The `logsieve` command: run, the admin commands (status, explain, dead-letter, migrate) and
tail.
"""
