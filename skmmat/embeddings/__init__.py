"""Word-vector tables and nearest-neighbour candidate sets.

Two services live here, shared by :class:`~skmmat.preprocessing.GloveSequencer`
(which turns words into vectors) and
:class:`~skmmat.adversarial.WordSubstitutionPerturber` (which needs, for each
word, its nearest neighbours in the same table):

* :func:`load_vectors` turns a table *specification* (the bundled table's name,
  a GloVe text file, an in-memory mapping) into a :class:`WordVectors`. Tables
  are loaded once per process and shared; text files are converted once to a
  binary copy in the on-disk cache, so a second process opens them in
  milliseconds.
* :func:`nearest_neighbors` returns each requested word's ``n_neighbors``
  closest other words, by exact search or with an approximate k-NN graph built
  by :mod:`pynndescent`. Exact neighbours, and the graph of a whole table, are
  kept on disk under keys derived from the table's content, so every later
  transform, fit and process reuses them. :func:`match_rows` finds the row of
  given vectors in a table.
"""

from ._neighbors import ALGORITHMS, METRICS, match_rows, nearest_neighbors
from ._vectors import (
    BUNDLED_TABLES,
    WordVectors,
    get_cache_dir,
    load_vectors,
)

__all__ = [
    "ALGORITHMS",
    "BUNDLED_TABLES",
    "METRICS",
    "WordVectors",
    "get_cache_dir",
    "load_vectors",
    "match_rows",
    "nearest_neighbors",
]
