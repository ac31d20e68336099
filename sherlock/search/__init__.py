"""Search: the searcher, the one ranking path, fusion, abstention and entities."""
