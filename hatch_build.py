"""Hatchling build hook ([tool.hatch.build.hooks.custom]): compile the message catalogs.

Every wheel, editable or not, gets omnitui/locale/LANG/LC_MESSAGES/omnitui.mo compiled from
the .po beside it with Babel (scripts/catalogs.py ``compile_catalogs``; Babel is a build
requirement). The .mo files are written into the source tree: an editable install reads
them there, and a wheel ships them through ``[tool.hatch.build] artifacts`` (they are
build products, ignored by git).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CatalogsBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":  # the sdist carries the .po files and this hook
            return
        root = Path(self.root)
        spec = importlib.util.spec_from_file_location(
            "omnitui_catalogs", root / "scripts" / "catalogs.py"
        )
        assert spec is not None and spec.loader is not None
        catalogs = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(catalogs)
        compiled = catalogs.compile_catalogs(root / "omnitui" / "locale")
        self.app.display_info(f"compiled {len(compiled)} message catalogs ({version} wheel)")
