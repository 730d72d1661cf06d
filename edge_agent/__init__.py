"""nguon edge_agent package."""
