"""Start a throwaway Dovecot and SMTP sink on loopback, print where they listen, stop on Ctrl-C."""

import argparse
import sys
import threading
from pathlib import Path

# Lets `python scripts/mailserver.py` work from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.demo.mailserver import DEFAULT_PASSWORD, Dovecot  # noqa: E402
from assistant.demo.smtpsink import SmtpSink  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--user", default="support@example.com", help="IMAP login to create")
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    parser.add_argument("--imap-port", type=int, default=None)
    parser.add_argument("--smtp-port", type=int, default=None)
    parser.add_argument("--tls", action="store_true", help="also offer STARTTLS and IMAPS (self-signed)")
    args = parser.parse_args(argv)
    with Dovecot(port=args.imap_port, tls=args.tls) as dovecot, SmtpSink(dovecot, port=args.smtp_port) as sink:
        dovecot.add_user(args.user, args.password)
        print(f"IMAP  {dovecot.host}:{dovecot.port}  login {args.user} / {args.password}  (security = none)")
        if args.tls:
            print(f"IMAPS {dovecot.host}:{dovecot.ssl_port}  certificate {dovecot.certificate}")
        print(f"SMTP  {sink.host}:{sink.port}  mail to any address lands in that user's INBOX "
              f"(new users get the password {DEFAULT_PASSWORD})")
        print(f"files {dovecot.root}; Ctrl-C stops both", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
