"""`review render`: Quarto when installed, otherwise the built-in renderer of the same review.qmd."""

from .api import RenderReport, dependency_files, inputs_digest, render_project

__all__ = ["RenderReport", "render_project", "dependency_files", "inputs_digest"]
