"""exofop-mcp: ExoFOP-TESS follow-up observations for assistants, scripts and astronomers."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("exofop-mcp")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

if TYPE_CHECKING:
    from exofop_mcp.api import Exofop
    from exofop_mcp.settings import Settings

__all__ = ["Exofop", "Settings", "__version__"]


def __getattr__(name: str) -> Any:  # lazy, so that `import exofop_mcp` stays cheap
    if name == "Exofop":
        from exofop_mcp.api import Exofop

        return Exofop
    if name == "Settings":
        from exofop_mcp.settings import Settings

        return Settings
    raise AttributeError(name)
