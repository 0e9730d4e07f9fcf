"""scikit-learn's estimator protocol (``get_params`` / ``set_params`` / ``repr``), once for the
uplift estimators (:class:`liftlab.uplift.UpliftForest`, ``TLearner``, ``XLearner``)."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from liftlab.exceptions import InvalidInputError, _error


class Estimator:
    """The constructor's parameters are the estimator's; ``__init__`` stores them as attributes."""

    @classmethod
    def _param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's parameters, as scikit-learn's ``BaseEstimator.get_params`` (with
        ``deep``, also ``<param>__<name>`` for a parameter that has ``get_params``, such as a base
        learner)."""
        out = {p: getattr(self, p) for p in self._param_names()}
        if deep:
            for p, est in list(out.items()):
                if est is not None and not isinstance(est, type) and hasattr(est, "get_params"):
                    out.update({f"{p}__{k}": v for k, v in est.get_params(deep=True).items()})
        return out

    def set_params(self, **params: Any) -> Any:
        """Sets constructor parameters (``<param>__<name>`` sets a nested estimator's); an unknown
        name raises ``InvalidInputError``."""
        valid = self._param_names()
        nested: dict[str, dict[str, Any]] = {}
        for k, v in params.items():
            head, sep, rest = k.partition("__")
            if head not in valid:
                raise _error(InvalidInputError, (k,), f"not a parameter of {type(self).__name__} (parameters: {', '.join(valid)})")
            if sep:
                nested.setdefault(head, {})[rest] = v
            else:
                setattr(self, k, v)
        for head, sub in nested.items():
            est = getattr(self, head)
            if est is None or not hasattr(est, "set_params"):
                raise _error(InvalidInputError, (head,), f"{type(est).__name__} has no set_params for {', '.join(sub)}")
            est.set_params(**sub)
        return self

    def _set_fitted_features(self, names: list[str] | None, n_features: int) -> None:
        """scikit-learn's fitted attributes: ``feature_names_in_`` (only for named columns) and
        ``n_features_in_``."""
        if names is not None:
            self.feature_names_in_ = np.array(names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.n_features_in_ = n_features

    def __repr__(self) -> str:
        defaults = {k: p.default for k, p in inspect.signature(type(self).__init__).parameters.items() if k != "self"}
        changed = [f"{k}={v!r}" for k, v in self.get_params(deep=False).items() if v is not defaults[k] and v != defaults[k]]
        return f"{type(self).__name__}({', '.join(changed)})"
