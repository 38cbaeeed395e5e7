#!/bin/bash
# Warm synchronous-invoke throughput with cloister-load against a live server
# (docs/benchmarks.md, "Throughput"). Run as root from anywhere in the repo:
#   scripts/warm-throughput.sh            # concurrency 1 2 4 8, 15 s each
#   CS="1 8" DUR=30s scripts/warm-throughput.sh
# Needs the AWS CLI (/usr/bin/aws) and zip. Uses a temporary data directory
# and port 4599; the function is the data plane's test probe (aws-lambda-go),
# 1769 MB, reserved concurrency 8, invoked with {"op":"echo"}.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
T=$(mktemp -d)
go build -o "$T/cloister" ./cmd/cloister
go build -o "$T/cloister-load" ./cmd/cloister-load
(cd internal/invoke && CGO_ENABLED=0 go build -trimpath -o "$T/bootstrap" ./testdata/probe)
(cd "$T" && zip -q echo.zip bootstrap)
"$T/cloister" server --data-dir "$T/data" --listen 127.0.0.1:4599 > "$T/server.log" 2>&1 &
SP=$!
trap 'kill $SP; wait $SP || true; rm -rf "$T"' EXIT
for _ in $(seq 100); do
  [ -f "$T/data/credentials" ] && curl -s -o /dev/null 127.0.0.1:4599 && break
  sleep 0.2
done
export AWS_SHARED_CREDENTIALS_FILE=$T/data/credentials AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
A="/usr/bin/aws --endpoint-url http://127.0.0.1:4599"
$A iam create-role --role-name lambda-role --assume-role-policy-document \
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}' > /dev/null
ACCT=$($A sts get-caller-identity --query Account --output text)
$A lambda create-function --function-name echo --runtime provided.al2023 --handler bootstrap --memory-size 1769 \
  --role "arn:aws:iam::$ACCT:role/lambda-role" --zip-file "fileb://$T/echo.zip" > /dev/null
$A lambda wait function-active-v2 --function-name echo
$A lambda put-function-concurrency --function-name echo --reserved-concurrent-executions 8 > /dev/null
for c in ${CS:-1 2 4 8}; do
  echo "== concurrency $c"
  "$T/cloister-load" -endpoint http://127.0.0.1:4599 -function echo -payload '{"op":"echo"}' -c "$c" -d "${DUR:-15s}"
done
