"""The sample shop that `make demo` runs beside the gateway."""
