"""triage: sort the reports a Party committee office receives (党委信息报送分拣).

Data flows one way through the stage modules:
ingest → clean → nlp (segment) → classify → screen → route → queue.
"""

__version__ = "0.1.0"
