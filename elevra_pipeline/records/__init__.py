"""Clean model output into records safe to store and show."""
