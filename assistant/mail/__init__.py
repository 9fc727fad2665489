"""Mail as values: bytes in, typed messages out, and the words inside them. No database."""
