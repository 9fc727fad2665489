"""One small exception tree, named for what the caller can do about it."""


class AssistantError(Exception):
    """Base of every error the assistant raises on purpose."""


class ConfigError(AssistantError):
    """The configuration is wrong: fix the file or the environment, then start again."""


class RuleError(ConfigError):
    """A file under rules/ is wrong; the message names the file and line."""


class TemplateError(ConfigError):
    """A reply template is missing or broken; the message names the template."""


class Unparseable(AssistantError):
    """A message could not be understood: quarantine it with this reason and go on."""


class OverBudget(Unparseable):
    """Understanding one message used up its CPU budget: quarantine it; a retry gets more time."""


class BatchIncomplete(AssistantError):
    """A batch ended with fewer fates than messages: mark nothing done, read it again."""


class MailboxUnavailable(AssistantError):
    """The IMAP or SMTP server cannot be reached or refused us: retry later with back-off."""


class NotFound(AssistantError):
    """The ticket, draft or quarantined message asked for does not exist."""


class Rejected(AssistantError):
    """The input was read but refused (the CLI exits 1 with this one-line reason)."""


class Stale(Rejected):
    """Someone else changed the draft after it was read: read it again, then decide."""


def crash_reason(exc: BaseException, doing: str = "") -> str:
    """One line, at most 500 characters, for an exception nobody raised on purpose.

    >>> crash_reason(KeyError("ı"), "reading the message")
    "internal error while reading the message: KeyError: 'ı'"
    """
    where = f" while {doing}" if doing else ""
    return f"internal error{where}: {type(exc).__name__}: {exc}".splitlines()[0][:500]
