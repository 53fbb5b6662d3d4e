"""Use cases: each wires adapters to the pure core for one command."""
