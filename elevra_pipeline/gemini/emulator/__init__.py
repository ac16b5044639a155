"""An offline, Gemini-compatible HTTP server for machines without internet (and for tests).

No library emulates Gemini's REST API with its quotas and 429 bodies, hence this small server.
"""
