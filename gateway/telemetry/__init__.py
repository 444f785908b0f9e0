"""What the gateway says about itself: Prometheus metrics, the /metrics /healthz /readyz
endpoint, and its own log lines, masked and escaped (core).
"""
