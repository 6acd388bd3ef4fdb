"""Outputs: the output contract, data files, prose, Markdown, HTML, the web map, publish."""
