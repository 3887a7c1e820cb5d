"""vm package."""
