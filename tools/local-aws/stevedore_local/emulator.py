"""Start moto in-process with Stevedore's patches and the control API on the same port."""

from __future__ import annotations

import os
from typing import Any

from .state import STATE

_patched = False


def apply_patches() -> None:
    """Patch moto's classes (process-wide, idempotent)."""
    global _patched
    if _patched:
        return
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"] = {"execute_state_machine": True}

    from . import (codebuild_sim, dynamodb_atomic, dynamodb_streams, ecr_events, ecs_inactive,
                   ecs_service_api, ecs_service_deployments, ecs_sim, ecs_tasks, eventbridge,
                   lambda_bridge, scheduler_fixes, sfn_codebuild, sfn_events, sfn_fixes)

    lambda_bridge.apply()
    eventbridge.apply()
    ecr_events.apply()
    sfn_fixes.apply()
    sfn_events.apply()
    sfn_codebuild.apply()  # after sfn_fixes: uses its parameter conversion and tagged clients
    codebuild_sim.apply()
    ecs_tasks.apply()
    ecs_sim.apply()
    ecs_service_api.apply()  # after ecs_tasks and ecs_sim: wraps what they installed
    ecs_service_deployments.apply()
    ecs_inactive.apply()  # after every other ECS patch: refuses INACTIVE revisions first
    dynamodb_streams.apply()  # before dynamodb_atomic: its lock then wraps the stream commit too
    dynamodb_atomic.apply()
    scheduler_fixes.apply()
    _patched = True


class Emulator:
    """A running emulator: ``.url``, ``.port``, ``.test_listener.url``, ``.webhook_receiver.url``,
    ``.stop()``."""

    def __init__(self, host: str, port: int, lambda_url: str, region: str = "us-east-1"):
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        from .control import ControlMiddleware

        STATE.lambda_url = lambda_url
        STATE.region = region
        os.environ.setdefault("AWS_DEFAULT_REGION", region)
        apply_patches()
        from . import ecs_rollout

        ecs_rollout.resume()
        emulator = self

        class _Server(ThreadedMotoServer):
            def _server_entry(self) -> None:  # same as moto's, plus our WSGI wrapper
                app = ControlMiddleware(DomainDispatcherApplication(create_backend_app))
                self._server = make_server(self._ip_address, self._port, app, True,
                                           request_handler=MotoRequestHandler)
                bound = self._server.server_address[1]
                # The SFN interpreter calls back into moto at localhost:$MOTO_PORT.
                os.environ["MOTO_PORT"] = str(bound)
                emulator.port = bound
                self._server_ready_event.set()
                self._server.serve_forever()

        self.host = host
        self.port = port
        self._server = _Server(ip_address=host, port=port, verbose=False)
        self._server.start()
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.url = f"http://{shown}:{self.port}"
        STATE.url = self.url
        from . import ecs_test_listener

        self.test_listener = ecs_test_listener.start()  # blue/green TEST listener stand-in
        from . import webhook_receiver

        self.webhook_receiver = webhook_receiver.start()  # notify's Slack / webhook stand-in
        self._stopped = False

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        from . import ecs_rollout

        ecs_rollout.stop_all()
        self._server.stop()
        self.test_listener.stop()
        if STATE.test_listener_url == self.test_listener.url:
            STATE.test_listener_url = ""
        self.webhook_receiver.stop()
        if STATE.webhook_receiver_url == self.webhook_receiver.url:
            STATE.webhook_receiver_url = ""

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start(host: str = "127.0.0.1", port: int = 0, lambda_url: str = "http://127.0.0.1:9000",
          region: str = "us-east-1") -> Emulator:
    """Start serving; ``port=0`` picks a free port (see ``.url``)."""
    return Emulator(host, port, lambda_url, region)
