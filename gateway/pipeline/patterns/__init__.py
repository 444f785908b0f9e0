"""Patterns: a body's template, so records that differ only in their variables group together.

masks.py replaces typed variables (numbers, addresses, ids, times, ...) with placeholders such
as `<IP>`; miner.py learns the untyped ones from structure (same token count, a shared constant
backbone, enough distinct values at a position) and names each template with a stable id. Pure
code: no I/O, no clock, no threads; the batch stage owns one miner and the store keeps what it
learned.
"""
