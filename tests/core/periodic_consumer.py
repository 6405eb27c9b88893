"""One consumer process of tests/core/test_periodic_scheduler.py.

`python -m tests.core.periodic_consumer KIND LOCATION NAME RECORD` consumes the queue NAME
(KIND `sqlite`: a file at LOCATION; `redis`: the server at LOCATION) with `make_consumer`,
as `serve` and `studyhall worker` do, with one periodic task due every tick. Ticks last one
second instead of a minute, so that a test sees many. Each enqueue of the periodic task is
appended to RECORD as `<pid> <task id>` (the id names the tick).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab, signals

from studyhall.core.jobs import OncePerTickScheduler, make_consumer


def main(kind: str, location: str, name: str, record: str) -> None:
    queue: Huey = (
        RedisHuey(name, url=location, utc=True)
        if kind == "redis"
        else SqliteHuey(name, filename=location, utc=True)
    )

    @queue.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]
    def every_tick() -> None:
        pass

    @queue.signal(signals.SIGNAL_ENQUEUED)  # type: ignore[untyped-decorator]
    def remember(signal: str, task: Any, *args: Any) -> None:
        if task.name == "every_tick":
            line = f"{os.getpid()} {task.id}\n".encode()
            descriptor = os.open(record, os.O_WRONLY | os.O_APPEND)
            try:
                os.write(descriptor, line)
            finally:
                os.close(descriptor)

    OncePerTickScheduler.tick_seconds = 1
    OncePerTickScheduler.periodic_task_seconds = 1  # check at every scheduler loop
    make_consumer(1, queue).run()


if __name__ == "__main__":
    main(*sys.argv[1:5])
