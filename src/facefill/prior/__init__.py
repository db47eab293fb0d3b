"""The shape prior: what faces look like, fitted to a face's observed pixels.

``base`` says what a prior is to the fill (:class:`Prior`, :class:`PriorFit`);
the PCA prior is its first implementation: ``pca`` (principal components,
streaming and with gaps), ``gappy`` (the Bayesian gappy fit), ``tuning`` (its
settings, cross-validated) and ``learn`` (two passes over the training faces).
"""

from .base import Prior, PriorFit
from .gappy import PCAFit, PCAPrior
from .learn import FaceStatistics, fit_prior, learn_prior

__all__ = ["FaceStatistics", "PCAFit", "PCAPrior", "Prior", "PriorFit", "fit_prior", "learn_prior"]
