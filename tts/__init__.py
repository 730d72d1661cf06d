"""nguon tts package."""
