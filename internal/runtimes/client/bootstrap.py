"""Cloister's Lambda runtime client for Python.

Speaks the Lambda Runtime API (2018-06-01) at $AWS_LAMBDA_RUNTIME_API and runs
the handler named by $_HANDLER the way AWS's awslambdaric does, as far as the
handler can observe: module resolution, the context object, error shapes and
log formats. Standard library only; runs on Python 3.9 and later.

Roots come from LAMBDA_TASK_ROOT (default /var/task), LAMBDA_RUNTIME_DIR
(default /var/runtime) and, for tests only, _CLOISTER_OPT_DIR (default /opt).
"""

import decimal
import http.client
import importlib
import json
import logging
import math
import os
import sys
import time
import traceback
import urllib.parse

_API_PREFIX = "/2018-06-01/runtime"
_ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
_ERROR_LOG_LINE_TERMINATE = "\r"
_ERROR_LOG_INDENT = "\u00a0"  # NO-BREAK SPACE, as Lambda indents traces
_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
_INIT_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in "
    "the function code. However, in rare cases, a Lambda runtime update can "
    "cause unexpected function behavior. For functions using managed runtimes, "
    "runtime updates can be triggered by a function change, or can be applied "
    "automatically. To determine if the runtime has been updated, check the "
    "runtime version in the INIT_START log entry. If this error correlates with "
    "a change in the runtime version, you may be able to mitigate this error by "
    "temporarily rolling back to the previous runtime version. For more "
    "information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html"
)

_request_id = None
_tenant_id = None


class FaultException(Exception):
    """An error the runtime reports with a Runtime.* type."""

    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

    def __init__(self, exception_type, msg, trace=None):
        super().__init__(msg)
        self.exception_type = exception_type
        self.msg = msg
        self.trace = trace


class RuntimeAPIError(Exception):
    """The Runtime API failed or answered with a non-2xx status: fatal."""


# ---------------------------------------------------------------------------
# Runtime API client

class Invocation(object):
    def __init__(self, headers, body):
        self.request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.trace_id = headers.get("Lambda-Runtime-Trace-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.deadline_ms = headers.get("Lambda-Runtime-Deadline-Ms")
        self.client_context = headers.get("Lambda-Runtime-Client-Context")
        self.cognito_identity = headers.get("Lambda-Runtime-Cognito-Identity")
        self.tenant_id = headers.get("Lambda-Runtime-Aws-Tenant-Id")
        self.content_type = headers.get("Content-Type")
        self.body = body


class RuntimeClient(object):
    """One keep-alive HTTP/1.1 connection to the Runtime API."""

    def __init__(self, address):
        self._address = address
        self._conn = None
        self._used = False

    def _request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self._address)
                self._used = False
            reused = self._used
            try:
                self._conn.request(method, path, body=body, headers=headers or {})
                resp = self._conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as e:
                self._conn.close()
                self._conn = None
                # A kept-alive connection the server closed while idle is
                # retried once on a fresh one; anything else is fatal.
                if attempt == 0 and reused:
                    continue
                raise RuntimeAPIError("%s %s: %s" % (method, path, e))
            self._used = True
            if resp.will_close:
                self._conn.close()
                self._conn = None
            if not 200 <= resp.status < 300:
                raise RuntimeAPIError(
                    "%s %s: status %d: %s"
                    % (method, path, resp.status, data[:1024].decode("utf-8", "replace"))
                )
            return resp, data
        raise RuntimeAPIError("%s %s: unreachable" % (method, path))

    def next(self):
        resp, body = self._request("GET", _API_PREFIX + "/invocation/next")
        return Invocation(resp.headers, body)

    def post_response(self, request_id, body, content_type):
        self._request(
            "POST",
            "%s/invocation/%s/response" % (_API_PREFIX, _quote(request_id)),
            body,
            {"Content-Type": content_type},
        )

    def post_error(self, request_id, error):
        self._request(
            "POST",
            "%s/invocation/%s/error" % (_API_PREFIX, _quote(request_id)),
            to_json(error).encode("utf-8"),
            _error_headers(error),
        )

    def post_init_error(self, error):
        self._request(
            "POST", _API_PREFIX + "/init/error", to_json(error).encode("utf-8"), _error_headers(error)
        )


def _quote(request_id):
    return urllib.parse.quote(request_id or "", safe="")


def _error_headers(error):
    # Header values must be latin-1 and single-line.
    error_type = str(error.get("errorType") or "Unhandled")
    error_type = error_type.encode("ascii", "replace").decode("ascii")
    error_type = error_type.replace("\r", " ").replace("\n", " ")
    return {"Content-Type": "application/json", _ERROR_TYPE_HEADER: error_type}


# ---------------------------------------------------------------------------
# JSON

def _json_default(obj):
    if isinstance(obj, decimal.Decimal):
        # Lambda writes a Decimal as a JSON number; integral values stay
        # exact, others become the nearest float.
        if obj.is_nan():
            return math.nan
        if not obj.is_finite():
            return float(obj)
        if obj == obj.to_integral_value() and obj.adjusted() < 64:
            return int(obj)
        return float(obj)
    raise TypeError("Object of type %s is not JSON serializable" % type(obj).__name__)


# Lambda's python3.12 and later runtimes emit UTF-8; earlier ones escape.
_response_encoder = json.JSONEncoder(
    ensure_ascii=sys.version_info < (3, 12), default=_json_default
)


def to_json(obj):
    return _response_encoder.encode(obj)


def marshal_response(response):
    if isinstance(response, bytes):
        return response, "application/unknown"
    try:
        return _response_encoder.encode(response).encode("utf-8"), "application/json"
    except Exception as e:
        raise FaultException(
            FaultException.MARSHAL_ERROR, "Unable to marshal response: %s" % e, None
        )


def unmarshal_request(body, content_type):
    if content_type != "application/json":
        return body
    try:
        return json.loads(body)
    except Exception as e:
        raise FaultException(
            FaultException.UNMARSHAL_ERROR, "Unable to unmarshal input: %s" % e, None
        )


# ---------------------------------------------------------------------------
# Context

class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.cognito_identity_id,
            self.cognito_identity_pool_id,
        )


class Client(object):
    __slots__ = [
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    ]

    def __repr__(self):
        return "Client([%s])" % ",".join(
            "%s=%s" % (k, getattr(self, k)) for k in self.__slots__
        )


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]

    def __repr__(self):
        return "ClientContext([custom=%s,env=%s,client=%s])" % (
            self.custom,
            self.env,
            self.client,
        )


def _obj_from_dict(cls, d):
    if d is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, d.get(field) if isinstance(d, dict) else None)
    return obj


class LambdaContext(object):
    def __init__(self, request_id, client_context, cognito_identity, deadline_ms,
                 invoked_function_arn=None, tenant_id=None):
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self.client_context = _obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _obj_from_dict(Client, self.client_context.client)
        self.identity = _obj_from_dict(CognitoIdentity, {})
        if isinstance(cognito_identity, dict):
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        remaining = self._deadline_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,"
            "function_name=%s,memory_limit_in_mb=%s,function_version=%s,"
            "invoked_function_arn=%s,client_context=%s,identity=%s,tenant_id=%s])"
            % (
                self.aws_request_id,
                self.log_group_name,
                self.log_stream_name,
                self.function_name,
                self.memory_limit_in_mb,
                self.function_version,
                self.invoked_function_arn,
                self.client_context,
                self.identity,
                self.tenant_id,
            )
        )


def _parse_json_header(value, name):
    try:
        return json.loads(value)
    except Exception as e:
        raise FaultException(
            FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR,
            "Unable to parse %s JSON: %s" % (name, e),
            None,
        )


def make_context(inv):
    client_context = None
    if inv.client_context:
        client_context = _parse_json_header(inv.client_context, "Client Context")
    cognito_identity = None
    if inv.cognito_identity:
        cognito_identity = _parse_json_header(inv.cognito_identity, "Cognito Identity")
    try:
        deadline_ms = int(inv.deadline_ms)
    except (TypeError, ValueError):
        deadline_ms = 0
    return LambdaContext(
        inv.request_id,
        client_context,
        cognito_identity,
        deadline_ms,
        inv.invoked_function_arn,
        inv.tenant_id,
    )


# ---------------------------------------------------------------------------
# Handler loading

def get_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(
            FaultException.MALFORMED_HANDLER_NAME, "Bad handler '%s': %s" % (handler, e)
        )
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                FaultException.BUILT_IN_MODULE_CONFLICT,
                "Cannot use built-in module %s as a handler module" % modname,
            )
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException(
            FaultException.IMPORT_MODULE_ERROR,
            "Unable to import module '%s': %s" % (modname, e),
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(
            FaultException.USER_CODE_SYNTAX_ERROR,
            "Syntax error in module '%s': %s" % (modname, e),
            trace,
        )
    try:
        return getattr(module, fname)
    except AttributeError:
        raise FaultException(
            FaultException.HANDLER_NOT_FOUND,
            "Handler '%s' missing on module '%s'" % (fname, modname),
            None,
        )


# ---------------------------------------------------------------------------
# Errors

def make_error(message, error_type, stack_trace, request_id=None):
    return {
        "errorMessage": message if message else "",
        "errorType": error_type if error_type else "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def _user_frames(tb):
    """The traceback without the runtime's own leading frames."""
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i, frame in enumerate(frames):
        if "/bootstrap.py" not in frame[0]:
            return frames[i:]
    return frames


def fault_from_exception(exc_info, request_id=None):
    etype, value, tb = exc_info
    return make_error(
        str(value), etype.__name__, traceback.format_list(_user_frames(tb)), request_id
    )


def _indent(line):
    n = len(line) - len(line.lstrip(" "))
    return _ERROR_LOG_INDENT * n + line[n:]


def log_error(error):
    """Writes an error report to stderr, framed as Lambda frames it."""
    if _LOG_FORMAT_JSON:
        record = {
            "timestamp": time.strftime(_DATETIME_FORMAT, time.gmtime()) + "Z",
            "level": "ERROR",
        }
        record.update(error)
        _write_stderr(json.dumps(record, ensure_ascii=False) + "\n")
        return
    line = "[ERROR]"
    if error.get("errorType"):
        line += " " + error["errorType"]
    if error.get("errorMessage"):
        if error.get("errorType"):
            line += ":"
        line += " " + error["errorMessage"]
    lines = [line]
    stack = error.get("stackTrace")
    if stack is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack:
            if element == "":
                lines.append("")
                continue
            for trace_line in element.splitlines():
                lines.append(_indent(trace_line))
    _write_stderr(_ERROR_LOG_LINE_TERMINATE.join(lines) + "\n")


def _write_stderr(text):
    stream = sys.__stderr__
    stream.write(text)
    stream.flush()


# ---------------------------------------------------------------------------
# Logging

_LOG_FORMAT_JSON = (os.environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"


def _log_level_from_env():
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    if level is None:
        return ""
    level = level.upper()
    return "DEBUG" if level == "TRACE" else level


class Unbuffered(object):
    """Flushes after every write, as Lambda's runtime does for print()."""

    def __init__(self, stream):
        self.stream = stream

    def __getattr__(self, attr):
        return getattr(self.stream, attr)

    def write(self, msg):
        n = self.stream.write(msg)
        self.stream.flush()
        return n

    def writelines(self, msgs):
        self.stream.writelines(msgs)
        self.stream.flush()


class LambdaLoggerHandler(logging.Handler):
    def emit(self, record):
        try:
            msg = self.format(record)
            sys.stdout.write(msg)
        except Exception:
            self.handleError(record)


class LambdaLoggerFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _request_id or ""
        record.tenant_id = _tenant_id
        return True


_RESERVED_RECORD_FIELDS = frozenset([
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module",
    "exc_info", "exc_text", "stack_info", "lineno", "funcName", "created", "msecs",
    "relativeCreated", "thread", "threadName", "processName", "process",
    "aws_request_id", "tenant_id", "taskName",
])


class JsonFormatter(logging.Formatter):
    """Lambda's JSON log format (AWS_LAMBDA_LOG_FORMAT=JSON)."""

    def formatTime(self, record, datefmt=None):
        t = time.gmtime(record.created)
        return time.strftime(_DATETIME_FORMAT, t) + ".%03dZ" % int(record.msecs)

    def format(self, record):
        level = min(50, max(0, record.levelno)) // 10 * 10
        exc = record.exc_info
        result = {
            "timestamp": self.formatTime(record),
            "level": logging.getLevelName(level),
            "message": record.getMessage(),
            "logger": record.name,
            "stackTrace": traceback.format_tb(exc[2]) if exc else None,
            "errorType": exc[0].__name__ if exc else None,
            "errorMessage": str(exc[1]) if exc else None,
            "requestId": getattr(record, "aws_request_id", None),
            "location": "%s:%s:%s" % (record.pathname, record.funcName, record.lineno)
            if exc else None,
        }
        if getattr(record, "tenant_id", None) is not None:
            result["tenantId"] = record.tenant_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED_RECORD_FIELDS and key not in result:
                result[key] = value
        result = {k: v for k, v in result.items() if v is not None}
        return json.dumps(result, ensure_ascii=False, default=str) + "\n"


def setup_logging():
    logging.Formatter.converter = time.gmtime
    handler = LambdaLoggerHandler()
    if _LOG_FORMAT_JSON:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
                _DATETIME_FORMAT,
            )
        )
    handler.addFilter(LambdaLoggerFilter())
    logger = logging.getLogger()
    level = _log_level_from_env()
    if level in logging._nameToLevel:
        logger.setLevel(level)
    logger.addHandler(handler)


# ---------------------------------------------------------------------------
# Main loop

def _set_sys_path(task_root, runtime_dir, opt_dir):
    version = "python%d.%d" % sys.version_info[:2]
    front = [
        task_root,
        os.path.join(opt_dir, "python", "lib", version, "site-packages"),
        os.path.join(opt_dir, "python"),
        runtime_dir,
    ]
    own_dir = os.path.dirname(os.path.abspath(__file__))
    rest = [
        p for p in sys.path
        if p not in front and os.path.abspath(p or ".") not in (own_dir, runtime_dir)
    ]
    sys.path[:] = front + rest


def _set_trace_id(trace_id):
    if trace_id is not None:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)


def handle_invocation(client, request_handler, inv):
    error = None
    try:
        context = make_context(inv)
        event = unmarshal_request(inv.body, inv.content_type)
        response = request_handler(event, context)
        body, content_type = marshal_response(response)
    except FaultException as e:
        error = make_error(e.msg, e.exception_type, e.trace, inv.request_id)
    except Exception:
        error = fault_from_exception(sys.exc_info(), inv.request_id)
    if error is not None:
        log_error(error)
        client.post_error(inv.request_id, error)
    else:
        client.post_response(inv.request_id, body, content_type)


def _fatal(err):
    _write_stderr("Lambda runtime client: fatal: %s\n" % err)
    sys.exit(1)


def main():
    global _request_id, _tenant_id
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or "/var/task"
    runtime_dir = os.environ.get("LAMBDA_RUNTIME_DIR") or "/var/runtime"
    opt_dir = os.environ.pop("_CLOISTER_OPT_DIR", None) or "/opt"
    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not address:
        _fatal("AWS_LAMBDA_RUNTIME_API is not set")
    _set_sys_path(task_root, runtime_dir, opt_dir)
    try:
        os.chdir(task_root)
    except OSError:
        pass
    sys.stdout = Unbuffered(sys.stdout)
    sys.stderr = Unbuffered(sys.stderr)
    client = RuntimeClient(address)

    try:
        setup_logging()
        request_handler = get_handler(os.environ.get("_HANDLER", ""))
    except Exception as e:
        if isinstance(e, FaultException):
            error = make_error(e.msg, e.exception_type, e.trace)
        else:
            error = fault_from_exception(sys.exc_info())
        logging.warning(_INIT_WARNING)
        log_error(error)
        try:
            client.post_init_error(error)
        except RuntimeAPIError as api_err:
            _fatal(api_err)
        sys.exit(1)

    try:
        while True:
            inv = client.next()
            _request_id = inv.request_id
            _tenant_id = inv.tenant_id
            _set_trace_id(inv.trace_id)
            handle_invocation(client, request_handler, inv)
    except RuntimeAPIError as e:
        _fatal(e)


if __name__ == "__main__":
    main()
