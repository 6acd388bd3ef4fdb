"""Access: snapping, routing kernels, coverage, isochrones, gap zones and the analysis."""
