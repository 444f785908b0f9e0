"""HTTP server plumbing shared by the OTLP/HTTP receiver, the metrics endpoint and the viewer:
WSGI servers hardened against slow and greedy peers, connection limits, a token-bucket rate
limiter (core).
"""
