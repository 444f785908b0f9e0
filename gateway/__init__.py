"""logsieve: an OpenTelemetry logs gateway that buffers, dedupes and samples before Logflare."""

__version__ = "0.1.0"
