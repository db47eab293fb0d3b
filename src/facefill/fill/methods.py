"""The reconstruction methods, in one registry.

``symmetry``
    A missing pixel whose mirror about the image's vertical centre line is
    observed takes the mirror's value (the original's symmetry step).
``average``
    A missing pixel inside the model's outline takes the average face's value.
``seed``
    The original rule: the mirror's value where the mirror is observed, else
    the average face's value inside the model's outline.
``auto``
    facefill's face model (``facefill.fill.auto``).
"""

from __future__ import annotations

from ..errors import InvalidParameterError
from .auto import AutoFill
from .base import Method
from .rules import fill_average, fill_seed, fill_symmetry

METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("auto", "facefill's face model: registered shape prior, outline rule, seamless blend", AutoFill()),
        Method("seed", "the original rule: mirror pixel, else average face", fill_seed),
        Method("symmetry", "mirror pixel about the image's vertical centre line", fill_symmetry),
        Method("average", "average face inside the model's outline", fill_average),
    )
}


def get_method(method: "str | Method") -> Method:
    """``method`` itself if it is a ``Method``, else the registered method of that name; an
    ``InvalidParameterError`` naming the choices if there is none."""
    if isinstance(method, Method):
        return method
    try:
        return METHODS[method]
    except (KeyError, TypeError):
        raise InvalidParameterError(
            f"method {method!r} is not known; expected one of {', '.join(METHODS)}"
        ) from None
