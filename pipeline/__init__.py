"""newsbeam: a streaming ingestion pipeline for news articles on Apache Beam."""

__version__ = "0.1.0"
