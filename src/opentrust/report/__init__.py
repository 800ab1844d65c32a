"""The Report object and its renderers (JSON, HTML, terminal)."""
