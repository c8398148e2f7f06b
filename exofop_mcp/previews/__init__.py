"""Looking at downloaded files: images, measurement tables, FITS headers, text, light curves.

Everything here reads only inside one system's directory of the sandbox (see
:mod:`exofop_mcp.previews.locate`) and never writes.
"""

from exofop_mcp.previews.locate import FileOutsideSandboxError, SandboxFileNotFoundError, locate_file
from exofop_mcp.previews.preview import FilePreview, ImageData, PreviewFileRequest, preview_file

__all__ = [
    "FileOutsideSandboxError",
    "FilePreview",
    "ImageData",
    "PreviewFileRequest",
    "SandboxFileNotFoundError",
    "locate_file",
    "preview_file",
]
