"""The GUI's composition root (application start-up, services, shutdown) and its job runner."""
