"""Ingestion: sources -> parsed, located blocks -> structure-aware chunks -> the index, incrementally."""

from ingest.discovery import SourceFile, discover
from ingest.summary import FileProblem, IngestSummary
from ingest.sync import IngestRun, ingest_path

__all__ = ["FileProblem", "IngestRun", "IngestSummary", "SourceFile", "discover", "ingest_path"]
