"""Who may sign in to the desk, what each role may do, and which tickets each one sees."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.config import Settings

CONSULTANT, MANAGER, OPERATOR = "consultant", "manager", "operator"


@dataclass(frozen=True)
class Viewer:
    """A signed-in person. `companies` set: a client's own manager, who sees only those."""

    email: str
    name: str
    roles: frozenset[str]
    languages: tuple[str, ...]
    companies: tuple[str, ...] = ()

    def can(self, role: str) -> bool:
        return role in self.roles

    @property
    def ours(self) -> bool:
        """One of our own people (not a client's manager): sees every ticket, internal notes."""
        return not self.companies

    @property
    def domains(self) -> tuple[str, ...] | None:
        """The client domains this person is limited to; None: every ticket."""
        return self.companies or None

    def sees(self, client_email: str) -> bool:
        """May this person see a ticket of `client_email`?"""
        if self.ours:
            return True
        domain = client_email.rpartition("@")[2].lower()
        return any(domain == d or domain.endswith("." + d) for d in self.companies)


def viewer_for(settings: Settings, email: str) -> Viewer | None:
    """The configured person behind `email`, with their roles; None for anyone else.

    Consultants and managers come from assistant.toml; `web.operators` adds the operator
    pages to whoever is listed (an operator who is neither is still allowed in).
    """
    email = email.strip().lower()
    consultant = next((p for p in settings.consultants if p.email == email), None)
    manager = next((p for p in settings.managers if p.email == email), None)
    operator = email in settings.web.operator_addresses
    roles = set()
    if consultant:
        roles.add(CONSULTANT)
    if manager:
        roles.add(MANAGER)
    if operator:
        roles.add(OPERATOR)
    if not roles:
        return None
    person = consultant or manager
    companies = manager.companies if manager and not consultant else ()
    if companies:
        roles = {MANAGER}      # a client's manager reads; never runs our queue or outbox
    return Viewer(email=email, name=person.name if person else email, roles=frozenset(roles),
                  languages=tuple(person.languages) if person else ("ru", "en"),
                  companies=companies)
