"""s16advisor: which UK public procurement routes are lawful for a planned contract, and why.

Library first: ``advise(contract)`` returns an :class:`~s16advisor.advice.Advice`; the CLI is a thin layer.
"""

from __future__ import annotations

__version__ = "0.1.0"

import sys  # noqa: E402


def _quiet_interrupt_while_starting() -> None:
    """Run as the command (its console script, or ``python -m s16advisor``): Ctrl-C while the modules below load
    (0.3-0.5 s) ends it with one line and exit 130, not a traceback; ``cli.main`` puts Python's handler back once it
    runs. Imported by a program of the user's, nothing changes."""
    import os
    import signal

    command = os.path.basename(sys.argv[0]) == "s16advisor" or sys.orig_argv[1:3] == ["-m", "s16advisor"]
    if not command or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return  # (a library import; or Ctrl-C ignored, as in a background job)

    def stop(signum: int, frame: object) -> None:
        os.write(2, b"interrupted\n")
        os._exit(130)  # (nothing is written or made yet: no output, no temporary file)

    try:
        signal.signal(signal.SIGINT, stop)
    except ValueError:  # not the main thread
        pass
    STARTING.append(stop)


STARTING: list[object] = []  # the handler installed while starting, if any (cli.main replaces it)
_quiet_interrupt_while_starting()

from .advice import Advice  # noqa: E402
from .advisor import Advisor, advise, advise_file  # noqa: E402
from .contract import ContractDescription, contract_from_mapping  # noqa: E402
from .errors import InputError, RulebookError, S16Error  # noqa: E402

# After the submodule is imported, so that ``s16advisor.review`` is the function, not the module. review.py
# imports, besides the modules above, only ocds.py and the standard library at its top (no rich, no typer, no
# multiprocessing, no durable-rules: a test checks it); about 13 ms of a cold start.
from .ocds import OcdsOptions  # noqa: E402
from .review import ReadOptions, Review, ReviewOptions, ReviewResult, read_records, review, review_to_file  # noqa: E402

__all__ = ["Advice", "Advisor", "ContractDescription", "InputError", "OcdsOptions", "ReadOptions", "Review",
           "ReviewOptions", "ReviewResult", "RulebookError", "S16Error", "advise", "advise_file",
           "contract_from_mapping", "read_records", "review", "review_to_file", "__version__"]
