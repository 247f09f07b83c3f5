#!/usr/bin/env bash
# Copy the repo's policies/*.yaml (the source of truth) into k8s/base/policies/, which kustomize's
# configMapGenerator reads (it cannot read files outside k8s/base). Run after editing a policy;
# tests/deploy/test_k8s.py fails while the copies differ.
set -euo pipefail
cd "$(dirname "$0")/.."

shopt -s nullglob  # the service reads .yaml and .yml alike
rm -f k8s/base/policies/*.yaml k8s/base/policies/*.yml
cp policies/*.yaml policies/*.yml k8s/base/policies/
listed=$(sed -n 's|^ *- policies/\(.*\.ya\?ml\)$|\1|p' k8s/base/kustomization.yaml | sort)
present=$(cd policies && ls -1 -- *.yaml *.yml | sort)
if [[ "$listed" != "$present" ]]; then
    echo "policy files changed: list these under configMapGenerator.files in k8s/base/kustomization.yaml:" >&2
    printf '  - policies/%s\n' $present >&2
    exit 1
fi
echo "k8s/base/policies/ is in step with policies/"
