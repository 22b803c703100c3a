"""Cluster state as sources: readers (live API or a dump folder), readable descriptions, credential redaction."""

from ingest.cluster.kinds import KINDS, KindSpec, kind_spec
from ingest.cluster.readers import ClusterReader, DumpCluster, LiveCluster, open_reader

__all__ = ["KINDS", "ClusterReader", "DumpCluster", "KindSpec", "LiveCluster", "kind_spec", "open_reader"]
