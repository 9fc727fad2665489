"""The walk's stage for a consultant's answer to an approval request: their verdict on a draft."""

from __future__ import annotations

import logging

from assistant.config import Settings
from assistant.errors import Rejected
from assistant.mail.intake import Incoming
from assistant.replies import approval
from assistant.replies.review import Review
from assistant.store.states import Fate
from assistant.tickets import conversation
from assistant.walk.passage import Outcome, Passage

log = logging.getLogger("assistant.walk.approval_mail")


class ApprovalByMail:
    """An approval by mail counts only with the draft's token, from the consultant's
    address, when our own server did not see the sender fail authentication.

    Refusals are settled as system mail with their reason, never as an internal error:
    a second "ok" on a draft already sent is a reason to tell the consultant, not a crash.
    """

    def __init__(self, settings: Settings, review: Review):
        self.settings = settings
        self.review = review
        self.consultants = {p.email for p in settings.consultants}

    def __call__(self, passage: Passage) -> Outcome | None:
        session, mail, now = passage.session, passage.mail, passage.now
        draft, forged = approval.draft_for_reply(session, mail)
        if draft is None and forged is None:
            return None
        if mail.is_system:
            return Outcome(Fate.SYSTEM, mail.message_id, draft.ticket_id if draft else None,
                           "an automatic reply to an approval request; not a verdict")
        why = forged or self._not_trusted(mail)
        if why:
            log.warning("approval_mail: approval refused (%s) in %s", why, mail.message_id)
            if draft is not None:
                self.review.note_refusal(session, draft, mail.from_address, why, now)
            return Outcome(Fate.SYSTEM, mail.message_id, draft.ticket_id if draft else None,
                           f"approval refused: {why}")
        try:
            said = self.review.decide(session, draft, approval.read_verdict(mail.visible_text),
                                      mail.from_address, now)
        except Rejected as exc:
            log.warning("approval_mail: approval refused (%s) in %s", exc, mail.message_id)
            self.review.note_refusal(session, draft, mail.from_address, str(exc), now)
            self.review.tell(session, draft, "approval_refused", now, reason=str(exc))
            return Outcome(Fate.SYSTEM, mail.message_id, draft.ticket_id, f"approval refused: {exc}")
        return Outcome(Fate.SYSTEM, mail.message_id, draft.ticket_id,
                       f"draft {draft.id} {said.text} by {mail.from_address}")

    def _not_trusted(self, mail: Incoming) -> str | None:
        if mail.from_address not in self.consultants:
            return f"{mail.from_address} is not a consultant"
        said = conversation.authentication(mail, self.settings)
        if said.failed:
            return said.reason(mail.from_address.rpartition("@")[2])
        return None
