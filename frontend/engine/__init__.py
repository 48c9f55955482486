"""The functional engine: tracing, call history and graph mapping."""
