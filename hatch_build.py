"""The wheel carries the compiled catalogs: each ``alphasms_notify/locale/*/LC_MESSAGES/*.po`` is compiled
to its ``.mo`` at build time, with Babel, into a temporary folder and added from there. A generated file is
never committed nor written into the source tree; an editable install reads the ``.po`` itself
(:func:`alphasms_notify.i18n.translations`)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CatalogsBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        self._compiled: Path | None = None
        if self.target_name != "wheel" or version == "editable":
            return
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        root = Path(self.root)
        self._compiled = Path(tempfile.mkdtemp(prefix="alphasms-notify-catalogs-"))
        for source in sorted((root / "alphasms_notify" / "locale").glob("*/LC_MESSAGES/*.po")):
            with source.open("rb") as fp:
                catalog = read_po(fp, locale=source.parent.parent.name)
            relative = source.relative_to(root).with_suffix(".mo")
            target = self._compiled / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as fp:
                write_mo(fp, catalog)
            build_data["force_include"][str(target)] = relative.as_posix()

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if self._compiled is not None:
            shutil.rmtree(self._compiled, ignore_errors=True)
