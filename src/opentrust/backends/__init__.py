"""Model backends: one async ``generate(request) -> Completion`` interface, several implementations."""
