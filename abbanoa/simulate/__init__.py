"""Network simulator: physically consistent synthetic data for two Sardinian DMAs.

WNTR runs EPANET (pressure-driven demand) on the Net3 model shipped with wntr, split into
two district metered areas; leaks, a pressure drop and a quality excursion are part of the
physics, sensor faults are added afterwards to the written CSV. See docs/simulator.md.
"""
