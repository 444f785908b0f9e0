"""The runtime: the composition root that builds and wires every stage from a Config, the
roles of each process, the supervisor of child processes, timers and locks.
"""
