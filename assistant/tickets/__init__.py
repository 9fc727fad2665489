"""Tickets and everything that changes one; tickets/state.py is the one writer of its state."""
