"""The tables and the database they live in."""
