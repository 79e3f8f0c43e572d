"""Images the bot draws with Pillow: pure functions from data to PNG bytes (no discord)."""
