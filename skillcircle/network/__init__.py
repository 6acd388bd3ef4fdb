"""The walking network: the model, the OSM walk filter, building, loading, caching, quality."""
