"""s16advisor: which UK public procurement routes are lawful for a planned contract, and why.

Library first: ``advise(contract)`` returns an :class:`~s16advisor.advice.Advice`; the CLI is a thin layer.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .advice import Advice  # noqa: E402
from .advisor import Advisor, advise, advise_file  # noqa: E402
from .contract import ContractDescription, contract_from_mapping  # noqa: E402
from .errors import InputError, RulebookError, S16Error  # noqa: E402

# After the submodule is imported, so that ``s16advisor.review`` is the function, not the module. review.py
# imports, besides the modules above, only ocds.py and the standard library at its top (no rich, no typer, no
# multiprocessing, no durable-rules: a test checks it); about 13 ms of a cold start.
from .review import review  # noqa: E402

__all__ = ["Advice", "Advisor", "ContractDescription", "InputError", "RulebookError", "S16Error", "advise",
           "advise_file", "contract_from_mapping", "review", "__version__"]
