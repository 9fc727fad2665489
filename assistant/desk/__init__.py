"""What consultants and operators see and do, shared by the command line and the web."""
