"""nguon hardware package."""
