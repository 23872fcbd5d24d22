"""hello-rust: a PyO3 extension module with a pure-Python face."""

from ._native import Mean, drops, fibonacci, panic_if_positive, sum_of, word_counts, __version__

__all__ = ["Mean", "drops", "fibonacci", "panic_if_positive", "sum_of", "word_counts", "top_words"]


def top_words(text, n=3):
    """The n most frequent words of text, most frequent first (ties by word)."""
    counts = word_counts(text)
    return sorted(counts, key=lambda w: (-counts[w], w))[:n]
