"""exofop-mcp: ExoFOP-TESS follow-up observations for assistants, scripts and astronomers."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("exofop-mcp")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
