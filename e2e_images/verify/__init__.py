"""Static verification of pushed images and manifest lists (issue 6).

Checks read images only through `oci` objects (an `Image`, an `Index`, a `LayerFS`), never
URLs, so the same code audits a fresh build, an OCI layout or a published list. Each check
returns every finding it sees; `runner` combines them into a `Report`.
"""

from __future__ import annotations

from e2e_images.verify.result import CheckResult, Finding, Report
from e2e_images.verify.runner import run_checks, run_list_checks

__all__ = ["CheckResult", "Finding", "Report", "run_checks", "run_list_checks"]
