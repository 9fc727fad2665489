"""The long-running process: its loop, its leases with other daemons, its health line."""
