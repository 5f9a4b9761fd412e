"""Progress of long commands: a tqdm bar on a terminal, a few plain lines in a log.

On a terminal (stderr is a TTY) ``progress`` is a tqdm bar. In a log (stderr redirected, CI) a bar's
``\\r`` updates would flood the file, so it writes one line at each quarter instead (at each unit for a
total of at most ``SMALL_TOTAL``, such as ``bench``'s parts), saying the share done. ``cap=True`` says
the total is a cap the work may stop far before (``train --until-solved``): the bar shows ``cap``
and no ETA. ``ProgressCallback`` is the same as a stable-baselines3 callback over training steps.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from stable_baselines3.common.callbacks import BaseCallback

QUARTERS = (0.25, 0.5, 0.75, 1.0)
SMALL_TOTAL = 10  # up to this many units (the parts of ``bench``), a log gets one line per unit


class LogProgress:
    """tqdm's ``update``/``close`` for a log: one line per quarter of ``total`` (per unit for a small total),
    each giving the share done."""

    def __init__(self, total: int, desc: str, unit: str, cap: bool, file: TextIO) -> None:
        self.total, self.desc, self.unit, self.cap, self.file = total, desc, unit, cap, file
        self.n, self._next, self._start, self._closed = 0, 0, time.perf_counter(), False

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.total <= SMALL_TOTAL:
            self._line(f"{min(self.n / self.total, 1.0):.0%}")
            return
        crossed = False
        while self._next < len(QUARTERS) and self.n >= QUARTERS[self._next] * self.total:
            self._next, crossed = self._next + 1, True
        if crossed:  # one line however many quarters one update crossed, with the share really done
            self._line(f"{min(self.n / self.total, 1.0):.0%}")

    def _line(self, share: str) -> None:
        of = f"{self.total} {self.unit}s cap" if self.cap else f"{self.total} {self.unit}s"
        self.file.write(f"{self.desc}: {self.n}/{of} ({share}) after {time.perf_counter() - self._start:.0f} s\n")
        self.file.flush()  # a log line, like tqdm's bar on a terminal: written to the stream it was given

    def close(self) -> None:
        if not self._closed and self.n < self.total:  # stopped early (solved, interrupted): say where
            self._line("stopped")
        self._closed = True

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress(total: int, desc: str, unit: str = "step", cap: bool = False, file: TextIO | None = None):
    """A progress bar (tqdm) on a terminal, ``LogProgress`` otherwise; both have ``update(n)`` and ``close()``."""
    file = file or sys.stderr
    if not file.isatty():
        return LogProgress(total, desc, unit, cap, file)
    from tqdm import tqdm

    if cap:  # no ETA: the run stops when solved, usually far before the cap
        form = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} cap [{elapsed}, {rate_fmt}]"
        return tqdm(total=total, desc=desc, unit=unit, file=file, bar_format=form, dynamic_ncols=True)
    return tqdm(total=total, desc=desc, unit=unit, file=file, dynamic_ncols=True)


class ProgressCallback(BaseCallback):
    """A stable-baselines3 callback showing ``progress`` over the training steps."""

    def __init__(self, total: int, desc: str = "training", cap: bool = False) -> None:
        super().__init__(verbose=0)
        self.total, self.desc, self.cap, self.bar = total, desc, cap, None

    def _on_training_start(self) -> None:
        self.bar = progress(self.total, self.desc, cap=self.cap)

    def _on_step(self) -> bool:
        self.bar.update(self.training_env.num_envs)
        return True

    def _on_training_end(self) -> None:
        self.close()

    def close(self) -> None:
        """Close the bar (also after an interrupt, when SB3 does not end the training)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
