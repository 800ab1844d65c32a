"""Bounded, never-executing readers for model file formats (shared by facts, scanning and openness)."""
