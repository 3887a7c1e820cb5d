"""zkmips package."""
