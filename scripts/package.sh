#!/usr/bin/env bash
# Package driftwarden for deployment, offline-capable, and lint the result.
#
#   scripts/package.sh [--stage STAGE] [--out DIR] [--no-deps] [--merge FILE]...
#
# Writes OUT/cfn (CloudFormation/SAM: `chalice package` merged with deploy/resources.json, the
# stage's deploy/stages/STAGE.json and any --merge FILE, e.g. deploy/event-bus.json) and OUT/tf
# (`chalice package --pkg-format terraform`), then runs cfn-lint on OUT/cfn/sam.json and on
# deploy/member-role.json. Defaults: STAGE=prod, OUT=out/.
#
# Chalice bundles requirements.txt into deployment.zip by downloading Lambda-compatible wheels
# with pip, which needs PyPI (or a wheelhouse: PIP_NO_INDEX=1 PIP_FIND_LINKS=DIR). --no-deps
# packages a temporary copy of the project whose requirements.txt is empty, so nothing is
# downloaded: the templates are identical, only deployment.zip lacks the third-party libraries.
# CI and tests/functional/test_package.py use it to lint offline; deploy a package built without it.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
stage=prod
out="$root/out"
no_deps=0
merges=()
while [ $# -gt 0 ]; do
    case "$1" in
        --stage) stage="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --no-deps) no_deps=1; shift ;;
        --merge) merges+=("$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"); shift 2 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "package.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"

venv="${VENV:-$root/.venv}"
case "$venv" in /*) ;; *) venv="$root/$venv" ;; esac
if [ -x "$venv/bin/chalice" ]; then
    bin="$venv/bin/"
else
    bin=""
fi
python="${bin:+${bin}python}"
python="${python:-python3}"

stage_template="$root/deploy/stages/$stage.json"
if [ ! -f "$stage_template" ]; then
    echo "package.sh: no stage template $stage_template" >&2
    exit 2
fi

# chalice package needs a region even though it calls no AWS API (AWS_REGION is not enough).
# It also builds a botocore client, which looks for credentials; without any in the
# environment botocore would ask the EC2 instance metadata service over the network.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_EC2_METADATA_DISABLED="${AWS_EC2_METADATA_DISABLED:-true}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# One merge template: resources, then the stage, then any extras, merged the way Chalice merges
# a template into its own (dicts merge key by key, anything else is replaced).
"$python" - "$work/merge.json" "$root/deploy/resources.json" "$stage_template" "${merges[@]}" <<'PY'
import json
import sys

from chalice.package import TemplateDeepMerger

target, *sources = sys.argv[1:]
merged: dict = {}
for source in sources:
    with open(source) as handle:
        merged = TemplateDeepMerger().merge(json.load(handle), merged)
with open(target, "w") as handle:
    json.dump(merged, handle, indent=2)
PY

project="$root"
if [ "$no_deps" = 1 ]; then
    project="$work/project"
    mkdir -p "$project/.chalice"
    cp "$root/app.py" "$project/"
    cp "$root"/.chalice/*.json "$project/.chalice/"
    (cd "$root" && tar --exclude='__pycache__' -cf - chalicelib) | (cd "$project" && tar -xf -)
    : > "$project/requirements.txt"
    export PIP_NO_INDEX=1
fi

rm -rf "$out/cfn" "$out/tf"
cd "$project"
"${bin}chalice" package --stage "$stage" --merge-template "$work/merge.json" "$out/cfn"
"${bin}chalice" package --pkg-format terraform --stage "$stage" "$out/tf"
"${bin}cfn-lint" "$out/cfn/sam.json" "$root/deploy/member-role.json"
echo "packaged stage $stage: $out/cfn/sam.json, $out/tf/chalice.tf.json (cfn-lint: no errors)"
