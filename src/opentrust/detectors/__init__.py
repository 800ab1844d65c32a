"""Detectors that judge a model's response (refusal, canary leak, harmful compliance, personal data)."""
