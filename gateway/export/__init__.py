"""Export: the outbox drained to a log store with backoff, dead letters for what it refuses for
good (a stage). Each exporter module alone knows its wire format.
"""
