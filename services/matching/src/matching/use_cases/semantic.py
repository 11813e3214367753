"""The semantic goals component's data: a person's texts embedded when their profile changes (before the
continuous matching that change causes, so it sees them), kept in matching's read model, and forgotten
with the person. Without the model (missing package, wrong file, a runtime that fails) matching keeps
TF-IDF for them and goes on: a profile change is never held up by the model."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from mentorship_schemas.events import PersonRole
from pymongo.errors import PyMongoError

from matching.domain.candidate import FIRST_PROFILE_VERSION
from matching.domain.semantic_goals import ProfileTexts
from matching.embeddings import ProfileText
from matching.use_cases.context import Matching

log = logging.getLogger(__name__)


async def embed_profile(
    m: Matching,
    org_id: str,
    person_id: str,
    roles: Iterable[PersonRole],
    texts: ProfileTexts,
    profile_version: int,
) -> bool:
    """Embed the person's passages for each of their roles (one batched call; passages known already
    come from the cache) and store them, unless what is stored is as new. Returns whether it stored."""
    parts = m.semantic
    if parts is None:
        return False
    sides = texts.passages(roles)
    # A first profile has nothing older stored, so what is stored is not read: it was read only to
    # be found missing, for each registration of matching's benchmark. A repeated registration
    # embeds again (its passages from the cache) and its save, conditional on the version and the
    # digest, writes nothing.
    first = profile_version <= FIRST_PROFILE_VERSION
    stored = None if first else await parts.profiles.stamp_of(org_id, person_id)
    if not sides and stored is None:
        return False  # nothing to embed, and no older vectors to replace
    digest = ProfileTexts.digest(sides, parts.model_id)
    if stored is not None and (stored[0] > profile_version or stored == (profile_version, digest)):
        return False  # a stale or repeated event
    try:
        embedded = await parts.embedder.embed([ProfileText(side.value, p) for side, p in sides.items()])
    except PyMongoError:
        raise  # the cache is unreachable: the event is retried
    except Exception as error:  # the model cannot run here: matching goes on without it
        log.warning("no embeddings for %s (the goals component stays TF-IDF for them): %r", person_id, error)
        return False
    profiles = {side: embedded[side.value] for side in sides}
    return await parts.profiles.save(org_id, person_id, profile_version, digest, profiles)


async def forget_embeddings(m: Matching, org_id: str, person_id: str) -> None:
    """Erasure: the person's embedded texts and the cached embeddings of their passages go."""
    if m.semantic is not None:
        await m.semantic.profiles.forget(org_id, person_id)
