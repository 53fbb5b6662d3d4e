"""Pure logic: no subprocess, git, network or file writes. Imports nothing from adapters or cli."""
