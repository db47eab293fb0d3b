"""The ICT Face Model Light, shipped with facefill, and the depth images rendered from it.

The mesh data (``ict_face.npz``) is derived from the ICT Face Model Light by
``scripts/derive_face_model.py``. ICT Face Model Light: Copyright (c) 2020 USC
Institute for Creative Technologies, MIT license (``LICENSE`` and
``CREDITS.md`` in this folder).

- ``mesh``: the face mesh, its identity and expression modes, and the face mask;
- ``render``: an orthographic z-buffer rasteriser and the view a face is rendered in;
- ``fit``: the view that matches depth images' faces.
"""
