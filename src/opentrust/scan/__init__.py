"""Static, never-executing artifact scanner (`opentrust scan`)."""
