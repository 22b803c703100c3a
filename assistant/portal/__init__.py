"""The portal: the web page of ``aiops serve`` where developers ask, read cited answers and open the sources."""

from assistant.portal.pages import mount_portal

__all__ = ["mount_portal"]
