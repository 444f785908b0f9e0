"""The configuration: YAML read safely, validated into frozen models, every problem reported at
once with its key path (core).
"""
