"""EventBridge Scheduler where moto differs from AWS's documented behaviour.

- UpdateSchedule replaces the whole schedule: "EventBridge Scheduler uses all values, including
  empty values, specified in the request and overrides the existing schedule ... if you do not
  set an optional field in your request, that field will be set to its system-default value
  after the update" (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_UpdateSchedule.html).
  moto resets most fields but keeps ActionAfterCompletion (it never reads it from the request)
  and leaves State empty when the request has none. Here both take the request's value or their
  default: State ``ENABLED`` (moto's own CreateSchedule default) and ActionAfterCompletion
  ``NONE`` (the value that keeps a schedule after its last invocation).
- CreateSchedule in a schedule group that does not exist answers ResourceNotFoundException
  (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html, Errors);
  moto fails with HTTP 500 (KeyError).
"""

from __future__ import annotations

from typing import Any

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    from moto.scheduler.exceptions import ScheduleGroupNotFound
    from moto.scheduler.models import EventBridgeSchedulerBackend
    from moto.scheduler.responses import EventBridgeSchedulerResponse

    original_update = EventBridgeSchedulerResponse.update_schedule

    def update_schedule(self: Any) -> str:
        out = original_update(self)
        name = self.uri.split("?")[0].split("/")[-1]  # as moto's own handler reads it
        schedule = self.scheduler_backend.get_schedule(self._get_param("GroupName"), name)
        schedule.state = self._get_param("State") or "ENABLED"
        schedule.action_after_completion = self._get_param("ActionAfterCompletion") or "NONE"
        return out

    EventBridgeSchedulerResponse.update_schedule = update_schedule

    original_create = EventBridgeSchedulerBackend.create_schedule

    def create_schedule(self: Any, *args: Any, **kwargs: Any) -> Any:
        group = kwargs.get("group_name") or "default"
        if group not in self.schedule_groups:
            raise ScheduleGroupNotFound(group)
        return original_create(self, *args, **kwargs)

    EventBridgeSchedulerBackend.create_schedule = create_schedule
    _applied = True
