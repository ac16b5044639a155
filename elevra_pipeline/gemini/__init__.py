"""Gemini through the real google-genai SDK: schemas, prompts, the client resource and the emulator."""
