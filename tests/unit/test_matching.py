"""Windows, units, the embedding memo and the on-disk bank cache, on the fake embedder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from server.adapters.bank_yaml import load_bank
from server.core.embedding import windows
from server.core.matching import BankIndex, EmbeddingMemo, embed_long, party_sequence, units
from server.services import FileVectorCache
from tests.conftest import FIXTURES
from tests.fakes import HashingEmbedder


def test_long_paragraph_is_read_as_windows_not_cut() -> None:
    embedder = HashingEmbedder()  # window of 64 words
    text = " ".join(f"Sentence number {i} says the vendor keeps the data." for i in range(40))
    parts = windows(text, embedder)
    assert len(parts) > 1
    assert all(embedder.count_tokens(p) <= embedder.max_tokens - 2 for p in parts)
    assert " ".join(parts).split() == text.split()


def test_a_sentence_longer_than_the_window_is_split_on_words() -> None:
    embedder = HashingEmbedder()
    text = " ".join(["word"] * 200)
    parts = windows(text, embedder)
    assert all(embedder.count_tokens(p) <= 62 for p in parts)
    assert sum(len(p.split()) for p in parts) == 200


def test_long_text_vector_is_the_normalised_mean_of_its_windows() -> None:
    embedder = HashingEmbedder()
    text = " ".join(f"Clause {i} covers training on data." for i in range(30))
    [vector] = embed_long(embedder, [text])
    assert np.isclose(np.linalg.norm(vector), 1.0, atol=1e-5)


def test_short_sentences_join_the_next_unit() -> None:
    embedder = HashingEmbedder()
    got = units("Vendor shall not. Use Customer Data to train any model, that is.", embedder)
    assert got == ["Vendor shall not. Use Customer Data to train any model, that is."]


def test_labels_and_a_leading_heading_are_set_aside() -> None:
    # The redliner never edits them, and they take no position.
    embedder = HashingEmbedder()
    got = units("7.3 Training. Vendor shall not use Customer Data to train any model. "
                "(b) Customer may opt in to training by written notice to Vendor.", embedder)
    assert got == ["Vendor shall not use Customer Data to train any model.",
                   "Customer may opt in to training by written notice to Vendor."]


def test_memo_embeds_only_new_sentences() -> None:
    embedder = HashingEmbedder()
    memo = EmbeddingMemo(embedder, capacity=10)
    memo.embed(["first sentence", "second sentence"])
    again = memo.embed(["first sentence", "a third one", "first sentence"])
    assert embedder.calls == [2, 1]
    assert again.shape == (3, 256)
    assert np.array_equal(again[0], again[2])


def test_memo_forgets_beyond_capacity() -> None:
    embedder = HashingEmbedder()
    memo = EmbeddingMemo(embedder, capacity=2)
    memo.embed(["a", "b", "c"])
    memo.embed(["a"])
    assert embedder.calls == [3, 1]


def test_restart_with_unchanged_bank_embeds_nothing(tmp_path: Path) -> None:
    bank = load_bank(FIXTURES / "bank")
    cache = FileVectorCache(tmp_path)
    first = HashingEmbedder()
    BankIndex.build(bank, first, cache)
    second = HashingEmbedder()
    index = BankIndex.build(bank, second, cache)
    assert first.calls and not second.calls
    assert index.vectors.shape[0] == len(index.positions)
    assert not any(p.suffix != ".npy" for p in tmp_path.iterdir())


def test_party_sequence_names_the_parties_in_order_whatever_they_are_called() -> None:
    assert party_sequence("We grant you a licence; Client's Inputs stay with Provider.") == (
        "Vendor", "Customer", "Customer", "Vendor")
    assert party_sequence("Fees are due in thirty days.") == ()
