# The same steps as scripts/setup.sh, for a container that runs the daemon.
FROM python:3.11-slim-bookworm

# Dovecot is only needed for `assistant demo` and the tests; the daemon talks to your own
# IMAP and SMTP servers.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dovecot-imapd dovecot-lmtpd \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/assistant
COPY pyproject.toml README.md ./
COPY assistant ./assistant
COPY rules ./rules
COPY templates ./templates
RUN python -m pip install --no-cache-dir -e ".[postgres]"

RUN useradd --system --home /var/lib/assistant assistant \
 && mkdir -p /var/lib/assistant /etc/assistant && chown assistant /var/lib/assistant
USER assistant
WORKDIR /var/lib/assistant
ENV ASSISTANT_CONFIG=/etc/assistant/assistant.toml
STOPSIGNAL SIGTERM
CMD ["assistant", "run"]
