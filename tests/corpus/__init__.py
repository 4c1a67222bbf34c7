"""Bad (and valid-but-odd) input files, made by code: see :mod:`tests.corpus.generate`."""
