"""armadactl: the command line users live in (Armada's commands and flags)."""
