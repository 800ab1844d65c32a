"""CLI commands. Each module has ``register(app)`` and keeps module-level imports light."""
