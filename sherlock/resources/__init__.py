"""Data files shipped with the package (stopwords, entity dictionary)."""
