"""An email-integrated support assistant: every email a ticket, human-tone replies."""

__version__ = "0.1.0"
