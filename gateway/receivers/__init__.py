"""Receivers: OTLP over gRPC and HTTP in, durably enqueued out (a stage).

Each request is checked, admitted against the queue's bounds, converted to queue rows and
committed by the one `Ingest` both receivers share; only then is it acknowledged.
"""
