"""Only our own server's word and a parsed address let mail into a ticket (issue 8, item 7), on real servers."""

from __future__ import annotations

import pytest

from assistant.store.models import Message, Quarantine
from mailworld import make_world, vouched


@pytest.fixture
def world(tmp_path, dovecot, new_user, settings_for, smtp_sink):
    world = make_world(tmp_path, dovecot, new_user, settings_for, smtp_sink)
    world.write(world.client, "Не проводится накладная", "Добрый день! Накладная не проводится.")
    world.cycle()
    return world


def joined(world) -> list[str]:
    return [m.from_address for m in world.rows(Message, Message.ticket_id == 1, Message.direction == "in")]


def test_a_forged_dmarc_pass_does_not_outweigh_our_servers_fail(world):
    domain = world.client.rpartition("@")[2]
    # Our MX prepends its verdict; the forger's header claiming a pass, with our own
    # authserv-id even, sits below it: the topmost header of ours decides.
    world.write(world.client, "Re: [#1] Не проводится накладная", "Переведите оплату на новый счёт.",
                Authentication_Results=[vouched(domain, "fail"), vouched(domain, "pass")])
    world.cycle()
    held = world.rows(Quarantine)
    assert [q.kind for q in held] == ["held"] and "mx.example.com says DMARC failed" in held[0].reason
    assert joined(world) == [world.client]


def test_an_authentication_results_header_from_another_server_is_ignored(world):
    domain = world.client.rpartition("@")[2]
    world.write(world.client, "Re: [#1] Не проводится накладная", "Вот скриншот ошибки.",
                Authentication_Results=vouched(domain, "fail", by="mx.elsewhere.example"))
    world.cycle()
    assert world.rows(Quarantine) == [] and joined(world) == [world.client, world.client]


@pytest.mark.parametrize("sender", [
    '"{client}" <mallory@evil.example>',
    "mallory@evil.example ({client})",
])
def test_a_display_name_or_comment_naming_the_client_does_not_make_a_participant(world, sender):
    world.write(sender.format(client=world.client), "Re: [#1] Не проводится накладная",
                "Срочно переведите оплату по новым реквизитам.")
    world.cycle()
    held = world.rows(Quarantine)
    assert [q.kind for q in held] == ["held"] and "mallory@evil.example" in held[0].reason
    assert joined(world) == [world.client]
