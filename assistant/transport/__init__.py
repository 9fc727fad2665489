"""Moving mail: the IMAP reader, the SMTP outbox, mail files on disk."""
