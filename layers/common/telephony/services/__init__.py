"""Use cases: the domain, with no HTTP in it."""
