"""Static files storage: content-hashed, pre-compressed names once `collectstatic` has run.

WhiteNoise's CompressedManifestStaticFilesStorage writes `name.<hash>.ext` plus `.gz`/`.br`
copies and a manifest; `{% static %}` then points at the hashed name, which WhiteNoise serves with
a long immutable Cache-Control. Before any `collectstatic` (DEBUG, `runserver`, the test suite)
there is no manifest: instead of failing every page, the plain names are used and served from the
app folders as before, and a warning says how to get the fast path. A manifest that exists but
lacks a file is still an error (a stale collectstatic), as in Django.
"""

from __future__ import annotations

import logging

# whitenoise ships no types:
from whitenoise.storage import CompressedManifestStaticFilesStorage  # type: ignore[import-untyped]

log = logging.getLogger(__name__)


class HashedCompressedStorage(CompressedManifestStaticFilesStorage):
    _warned = False

    def stored_name(self, name: str) -> str:
        if not self.hashed_files and not self.manifest_storage.exists(self.manifest_name):
            if not HashedCompressedStorage._warned:
                HashedCompressedStorage._warned = True
                log.warning(
                    "no static files manifest in STATIC_ROOT: serving unhashed, uncompressed static "
                    "files; run `manage.py collectstatic --noinput` (make run does)"
                )
            return name
        return super().stored_name(name)
