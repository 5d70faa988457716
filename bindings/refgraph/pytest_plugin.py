"""pytest plugin for refgraph leak checks (inert unless asked)."""
