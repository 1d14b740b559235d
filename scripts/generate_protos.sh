#!/usr/bin/env bash
# Regenerates the Python code for our own .proto files (src/armada/rpc/gen/*.proto).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m grpc_tools.protoc -I src --python_out=src --pyi_out=src --grpc_python_out=src \
    src/armada/rpc/gen/*.proto
