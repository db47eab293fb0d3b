"""The shape prior: what faces look like, fitted to a face's observed pixels.

``base`` says what a prior is to the fill (:class:`Prior`, :class:`PriorFit`);
the PCA prior is its first implementation: ``pca`` (principal components,
streaming and with gaps), ``gappy`` (the Bayesian gappy fit) and ``learn``
(the second pass over the training faces). Its settings are chosen by
``facefill.tuning``, which scores them with the fill that uses them.
"""

from .base import Prior, PriorFit
from .gappy import PCAFit, PCAPrior
from .learn import FaceStatistics, LearnedPrior, fit_prior, learn_prior

__all__ = ["FaceStatistics", "PCAFit", "PCAPrior", "Prior", "PriorFit", "LearnedPrior", "fit_prior", "learn_prior"]
