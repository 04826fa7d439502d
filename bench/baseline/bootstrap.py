"""A minimal Lambda runtime loop for the baseline handler, standing in for Lambda's Python runtime
(awslambdaric) in `make bench`.

Like the real runtime it imports the handler module at init (which imports boto3 and builds the
clients), then long-polls ``/2018-06-01/runtime/invocation/next`` over one keep-alive connection,
calls ``handler.handler(event, context)`` and posts the result to ``.../response`` (or an
exception to ``.../error``). An import failure is posted to ``/init/error``.

It does less than awslambdaric (no log formatting, no X-Ray, no extensions, no C HTTP client), so
if anything it flatters the baseline's cold start and memory.

    AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT python bench/baseline/bootstrap.py
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
import traceback

PREFIX = "/2018-06-01/runtime"


class Context:
    def __init__(self, headers) -> None:
        self.aws_request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn", "")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error_body(exc: BaseException) -> bytes:
    return json.dumps({
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_exception(type(exc), exc, exc.__traceback__),
    }).encode()


def main() -> int:
    conn = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"], timeout=None)

    def post(path: str, body: bytes) -> None:
        conn.request("POST", PREFIX + path, body=body, headers={"Content-Type": "application/json"})
        conn.getresponse().read()

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        import handler  # init: boto3 import and client construction happen here
    except Exception as exc:  # noqa: BLE001 - reported to the Runtime API, as Lambda does
        post("/init/error", _error_body(exc))
        return 1

    while True:
        conn.request("GET", PREFIX + "/invocation/next")
        response = conn.getresponse()
        payload = response.read()
        if response.status != 200:
            return 1  # the Runtime API is going away
        context = Context(response.headers)
        try:
            result = handler.handler(json.loads(payload), context)
        except Exception as exc:  # noqa: BLE001
            post(f"/invocation/{context.aws_request_id}/error", _error_body(exc))
            continue
        post(f"/invocation/{context.aws_request_id}/response", json.dumps(result).encode())


if __name__ == "__main__":
    sys.exit(main())
