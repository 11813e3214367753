"""What a pair's agreement tells each person: their signature is awaited (a draft, or a changed
draft), the other person signed and theirs is still awaited, everyone signed."""

from __future__ import annotations

from mentorship_schemas import AgreementDrafted, AgreementSignatureAdded, AgreementSigned

from notifications.domain.messages.base import Directory, Message, said
from notifications.domain.preferences import Category


def for_agreement_drafted(event: AgreementDrafted, directory: Directory) -> list[Message]:
    """Each participant whose signature is awaited; a later revision says the agreement changed."""
    wording = "agreement.awaiting" if event.revision == 1 else "agreement.redrafted"
    messages = []
    for person in dict.fromkeys(event.awaiting_ids):
        texts = directory.texts(person)
        others = directory.others(person, event.participant_ids)
        action = texts("agreement.sign_action")
        messages.append(
            Message(
                person,
                "agreement_signature_awaited",
                Category.SESSIONS,
                texts(f"{wording}.title", others=others),
                said(texts(f"{wording}.body", others=others), action),
                action,
                subject_id=event.pair_id,
                language=texts.language,
            )
        )
    return messages


def for_agreement_signature_added(event: AgreementSignatureAdded, directory: Directory) -> list[Message]:
    """The participants still to sign: who signed, and that theirs is awaited."""
    messages = []
    for person in dict.fromkeys(event.awaiting_ids):
        if person == event.signer_id:
            continue
        texts = directory.texts(person)
        signer = directory.name(event.signer_id, texts("someone.partner_subject"))
        action = texts("agreement.sign_action")
        messages.append(
            Message(
                person,
                "agreement_signature_added",
                Category.SESSIONS,
                texts("agreement.signature_added.title", signer=signer),
                said(texts("agreement.signature_added.body", signer=signer), action),
                action,
                subject_id=event.pair_id,
                language=texts.language,
            )
        )
    return messages


def for_agreement_signed(event: AgreementSigned, directory: Directory) -> list[Message]:
    """Everyone: the agreement is in force, and how often they meet."""
    messages = []
    for person in dict.fromkeys(event.participant_ids):
        texts = directory.texts(person)
        others = directory.others(person, event.participant_ids)
        cadence = texts.word("cadence", event.cadence.value)
        action = texts("agreement.signed.action")
        messages.append(
            Message(
                person,
                "agreement_signed",
                Category.SESSIONS,
                texts("agreement.signed.title", others=others),
                said(texts("agreement.signed.body", others=others, cadence=cadence), action),
                action,
                subject_id=event.pair_id,
                language=texts.language,
            )
        )
    return messages
