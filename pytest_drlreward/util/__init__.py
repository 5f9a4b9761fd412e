"""Small shared utilities, the bottom layer: files written whole (``atomic``), locks, stable reads, where a
module lives (``resolve``, ``sourcecheck``, ``allowlist``), optional extras, argument checks, ini-table
parsing. They import only the standard library, numpy, ``pytest_drlreward.errors``/``defaults`` and each other."""
