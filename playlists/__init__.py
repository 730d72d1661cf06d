"""nguon playlists package."""
