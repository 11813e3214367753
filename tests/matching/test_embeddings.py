"""Profile embeddings with the shipped model (offline, CPU): paraphrases outrank unrelated texts where
words do not overlap, each distinct passage is encoded once (cached by text hash, in memory and in
matching's real MongoDB-protocol store), and read-model documents round-trip."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matching import embeddings, store_learning
from matching.domain.cohort import tokens
from matching.domain.semantic import goals_similarity, mentee_passages, mentor_passages, semantic_reason
from matching.embeddings import (
    DIMENSIONS,
    InMemoryEmbeddingCache,
    MiniLmEncoder,
    ModelUnavailable,
    MongoEmbeddingCache,
    ProfileEmbedder,
    ProfileText,
    semantic_document,
    semantic_profile,
    text_key,
)
from pymongo import AsyncMongoClient

from tests.conftest import Infra, drop_database
from tests.waiting import eventually

ENCODER = MiniLmEncoder()


class CountingEncoder:
    """The real model, counting the texts it is asked to encode."""

    model_id = ENCODER.model_id
    dimensions = ENCODER.dimensions

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded.extend(texts)
        return ENCODER.encode(texts)


def profiles() -> list[ProfileText]:
    return [
        ProfileText("mentee", mentee_passages("Lead a data team.", "Presenting to senior leadership")),
        ProfileText(
            "analytics",
            mentor_passages("Managed analytics groups for six years.", ["sql"], "stepping into management"),
        ),
        ProfileText("bakery", mentor_passages("Ran the office bakery and catering.", ["baking"], "recipes")),
    ]


@pytest.mark.fast
async def test_shipped_model_ranks_a_paraphrase_above_an_unrelated_text_without_shared_words() -> None:
    embedded = await ProfileEmbedder(ENCODER, InMemoryEmbeddingCache()).embed(profiles())
    mentee, analytics, bakery = embedded["mentee"], embedded["analytics"], embedded["bakery"]
    assert mentee.vectors.shape == (2, DIMENSIONS)
    assert np.allclose(np.linalg.norm(mentee.vectors, axis=1), 1.0, atol=1e-5)
    # Word overlap sees nothing in common between the goal and the experience ...
    assert not set(tokens("Lead a data team")) & set(tokens("Managed analytics groups for six years"))
    # ... the model does.
    assert goals_similarity(mentee, analytics) > goals_similarity(mentee, bakery) + 0.1
    assert semantic_reason(mentee, analytics) == (
        "your goal 'Lead a data team' matches their experience 'Managed analytics groups for six years'"
    )


@pytest.mark.fast
async def test_each_distinct_passage_is_encoded_once_across_profiles_and_calls() -> None:
    encoder = CountingEncoder()
    embedder = ProfileEmbedder(encoder, InMemoryEmbeddingCache())
    twin = ProfileText("twin", mentee_passages("Lead a data team."))
    first = await embedder.embed([*profiles(), twin])
    assert sorted(encoder.encoded) == sorted({p.text for profile in profiles() for p in profile.passages})
    again = await embedder.embed(
        [twin, ProfileText("new", mentee_passages("Lead a data team. Write a book."))]
    )
    assert encoder.encoded[-1:] == ["Write a book"]
    assert np.array_equal(again["twin"].vectors, first["mentee"].vectors[:1])


@pytest.mark.fast
async def test_callers_at_the_same_time_share_the_encoding_of_a_passage_they_all_miss() -> None:
    encoder = CountingEncoder()
    embedder = ProfileEmbedder(encoder, InMemoryEmbeddingCache())
    mentors = [ProfileText(f"mentor-{n}", mentee_passages("Lead a data team.")) for n in range(50)]
    embedded = await asyncio.gather(*(embedder.embed([mentor]) for mentor in mentors))
    assert encoder.encoded == ["Lead a data team"], "fifty callers missed the cache; one encoding"
    first = embedded[0]["mentor-0"].vectors
    for person, mentor in zip(embedded, mentors, strict=True):
        assert np.array_equal(person[mentor.person_id].vectors, first)


async def test_passage_embeddings_are_cached_in_matchings_store_and_survive_a_new_embedder(
    infra: Infra,
) -> None:
    database = f"matching-embeddings-{uuid.uuid4().hex[:8]}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url)
    try:
        collection = client[database]["passage_embeddings"]
        first_encoder, second_encoder = CountingEncoder(), CountingEncoder()
        first = await ProfileEmbedder(first_encoder, MongoEmbeddingCache(collection)).embed(profiles())
        assert await collection.count_documents({}) == len(first_encoder.encoded) == 8
        second = await ProfileEmbedder(second_encoder, MongoEmbeddingCache(collection)).embed(profiles())
        assert second_encoder.encoded == []
        assert np.array_equal(second["analytics"].vectors, first["analytics"].vectors)
        key = text_key(ENCODER.model_id, "Lead a data team")
        stored = await collection.find_one({"_id": key})
        assert stored is not None
        assert len(stored["vector"]) == 4 * DIMENSIONS
    finally:
        await client.close()
        await drop_database(infra, database)


@pytest.mark.fast
async def test_read_model_document_round_trips_passages_and_vectors() -> None:
    embedded = await ProfileEmbedder(ENCODER, InMemoryEmbeddingCache()).embed(profiles()[:2])
    document = semantic_document(embedded["analytics"])
    restored = semantic_profile("analytics", document)
    assert restored.passages == embedded["analytics"].passages
    assert np.array_equal(restored.vectors, embedded["analytics"].vectors)
    assert document["model_id"] == ENCODER.model_id


@pytest.mark.fast
async def test_a_starting_service_loads_the_model_behind_and_its_first_profile_finds_it_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh = MiniLmEncoder()
    monkeypatch.setattr(store_learning, "_ENCODER", fresh)
    await store_learning._load_model_behind()  # the start-up hook: returns before the model is loaded
    await eventually(lambda: fresh.loaded, timeout=30)
    assert fresh.encode(["Lead a data team."]).shape == (1, DIMENSIONS)


@pytest.mark.fast
def test_a_model_that_cannot_load_at_start_is_logged_and_tried_again_on_first_use(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def missing(package: str, relative: str) -> Path:
        raise ModelUnavailable(f"package {package} is not installed")

    monkeypatch.setattr(embeddings, "_package_file", missing)
    encoder = MiniLmEncoder()
    encoder.preload()  # does not raise: the service starts all the same
    assert not encoder.loaded
    assert "the sentence model did not load" in caplog.text
    with pytest.raises(ModelUnavailable):  # embed_profile's fallback to TF-IDF takes it from there
        encoder.encode(["Lead a data team."])
