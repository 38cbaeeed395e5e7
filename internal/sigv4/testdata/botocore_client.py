"""Signs and sends requests with botocore, as the AWS CLI does, for sigv4 tests.

Reads a JSON job on stdin, writes a JSON report on stdout. It prefers the
botocore vendored in the AWS CLI v2 (awscli.botocore, Debian's awscli) and
falls back to a standalone botocore (what the AWS CLI v1 runs on). Exit code
3 means neither could be imported.
"""

import base64
import json
import sys

try:
    import awscli  # noqa: F401  the CLI v2 makes its vendored botocore importable as "botocore"
except ImportError:
    pass
try:
    import botocore
    from botocore.auth import SigV4Auth, SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from botocore.httpsession import URLLib3Session
    from botocore.session import Session
    from botocore.utils import percent_encode, percent_encode_sequence
except ImportError as exc:
    print("cannot import botocore (neither the AWS CLI v2's nor a standalone one): %s" % exc, file=sys.stderr)
    sys.exit(3)

FLAVOR = "awscli-v2" if "awscli" in botocore.__file__ else "botocore"


def send_signed(job, creds, http, spec):
    """Builds one request the way botocore's REST serializer would, signs it."""
    path = spec.get("raw_path") or "/" + "/".join(percent_encode(s) for s in spec["segments"])
    url = job["endpoint"] + path
    if spec.get("query"):
        url += "?" + percent_encode_sequence([tuple(p) for p in spec["query"]])
    req = AWSRequest(method=spec["method"], url=url, data=base64.b64decode(spec.get("body_b64", "")))
    for name, value in spec.get("headers") or []:
        req.headers[name] = value  # a repeated name adds a value
    if spec.get("presign"):
        SigV4QueryAuth(creds, "lambda", job["region"], expires=spec["expires"]).add_auth(req)
    else:
        SigV4Auth(creds, "lambda", job["region"]).add_auth(req)
    resp = http.send(req.prepare())
    return {"id": spec["id"], "status": resp.status_code, "body": resp.content.decode("utf-8", "replace")}


def client_calls(job, http):
    """Calls Lambda through a real botocore client, serializers and all."""
    session = Session()
    client = session.create_client(
        "lambda",
        region_name=job["region"],
        endpoint_url=job["endpoint"],
        aws_access_key_id=job["access_key"],
        aws_secret_access_key=job["secret_key"],
        aws_session_token=job["token"] or None,
    )
    arn = job["arn"]
    calls = [
        ("invoke", lambda: client.invoke(FunctionName=arn, Payload=b'{"a": 1}', Qualifier="1")["Payload"].read()),
        ("untag_resource", lambda: client.untag_resource(Resource=arn, TagKeys=["b", "a", "a b", "\u00e9"])),
        ("list_functions", lambda: client.list_functions(Marker="a b+c/=&", MaxItems=5)),
        ("get_function", lambda: client.get_function(FunctionName=arn)),
    ]
    out = []
    for name, call in calls:
        try:
            call()
            out.append({"name": name, "error": None})
        except Exception as exc:  # reported to the Go test, which fails on it
            out.append({"name": name, "error": "%s: %s" % (type(exc).__name__, exc)})
    url = client.generate_presigned_url(
        "get_function", Params={"FunctionName": arn, "Qualifier": "1"}, ExpiresIn=300)
    resp = http.send(AWSRequest(method="GET", url=url).prepare())
    out.append({"name": "presigned get_function", "error": None if resp.status_code == 200 else resp.content.decode()})
    return out


def main():
    job = json.load(sys.stdin)
    creds = Credentials(job["access_key"], job["secret_key"], job["token"] or None)
    http = URLLib3Session()
    auth = SigV4Auth(creds, "lambda", job["region"])
    report = {
        "flavor": FLAVOR,
        "normalized": [auth._normalize_url_path(p) for p in job["normalize"]],
        "results": [send_signed(job, creds, http, spec) for spec in job["requests"]],
        "calls": client_calls(job, http),
    }
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
