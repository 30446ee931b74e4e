#!/usr/bin/env python3
"""Trims botocore's service models to what the AWS SDK integration client reads.

Usage: tools/trim-models.py [BOTOCORE_DATA_DIR]   (default: the installed botocore's data folder)

Writes models/aws/<name>.json for every service in SERVICES: the protocol metadata, each operation's HTTP
binding and input/output shape names, and the shapes reachable from them with only the traits that decide
the wire format (member locations and names, list/map members, flattening, XML names and attributes,
payloads, timestamp formats, JSON-valued headers). Documentation, constraints, enums and error shapes are
dropped: errors are read from the response itself. Adding a service is adding it here and re-running.
"""
import glob
import gzip
import json
import os
import re
import sys

# Step Functions' aws-sdk service name -> botocore's folder.
SERVICES = {
    "s3": "s3",
    "dynamodb": "dynamodb",
    "sqs": "sqs",
    "sns": "sns",
    "eventbridge": "events",
    "sfn": "stepfunctions",
    "lambda": "lambda",
    "secretsmanager": "secretsmanager",
    "ssm": "ssm",
    "sts": "sts",
}

METADATA = ["protocol", "apiVersion", "jsonVersion", "targetPrefix", "signingName", "endpointPrefix",
            "serviceId", "xmlNamespace"]
SHAPE_TRAITS = ["type", "flattened", "locationName", "payload", "timestampFormat", "streaming", "document",
                "eventstream", "xmlNamespace"]
MEMBER_TRAITS = ["shape", "streaming", "location", "locationName", "flattened", "xmlAttribute", "jsonvalue",
                 "idempotencyToken", "timestampFormat", "xmlNamespace"]


def sdk_client_name(service_id):
    """The Java SDK v2 client name Step Functions prefixes errors with: the serviceId's words in
    PascalCase, acronyms lower-cased after their first letter (DynamoDB -> DynamoDb, SFN -> Sfn)."""
    words = []
    for part in re.split(r"[^A-Za-z0-9]+", service_id):
        words += re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+[a-z]*", part) or [part]
    out = ""
    for w in words:
        out += w[:1].upper() + w[1:].lower() if not w[:1].isdigit() else w
    # Digits glued to the previous word stay as they are (S3).
    return out


def load(data_dir, folder):
    path = sorted(glob.glob(os.path.join(data_dir, folder, "*", "service-2.json*")))[-1]
    raw = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    return json.loads(raw)


def trim(model):
    shapes = model["shapes"]
    keep = {}

    def visit(name):
        if name in keep:
            return
        shape = shapes[name]
        out = {k: shape[k] for k in SHAPE_TRAITS if k in shape}
        keep[name] = out
        if "members" in shape:
            out["members"] = {
                m: {k: ref[k] for k in MEMBER_TRAITS if k in ref} for m, ref in shape["members"].items()
            }
            for ref in shape["members"].values():
                visit(ref["shape"])
        for part in ("member", "key", "value"):
            if part in shape:
                out[part] = {k: shape[part][k] for k in MEMBER_TRAITS if k in shape[part]}
                visit(shape[part]["shape"])

    operations = {}
    for name, op in sorted(model["operations"].items()):
        if op["http"].get("requestUri") is None:
            continue
        entry = {"method": op["http"]["method"], "uri": op["http"]["requestUri"]}
        if "responseCode" in op["http"]:
            entry["responseCode"] = op["http"]["responseCode"]
        for part in ("input", "output"):
            if part in op:
                entry[part] = op[part]["shape"]
                if "resultWrapper" in op[part]:
                    entry["resultWrapper"] = op[part]["resultWrapper"]
                visit(op[part]["shape"])
        operations[name] = entry
    # A reference to a shape that is only its type (most strings and numbers) names the type instead.
    plain = {n for n, s in keep.items() if list(s) == ["type"] and s["type"] not in ("structure", "list", "map")}

    def inline(ref):
        if ref.get("shape") in plain:
            ref["type"] = keep[ref.pop("shape")]["type"]

    for shape in keep.values():
        for ref in shape.get("members", {}).values():
            inline(ref)
        for part in ("member", "key", "value"):
            if part in shape:
                inline(shape[part])
    keep = {n: s for n, s in keep.items() if n not in plain}
    return operations, keep


def main():
    import botocore
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(botocore.__file__), "data")
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "aws")
    os.makedirs(out_dir, exist_ok=True)
    total = 0
    for name, folder in SERVICES.items():
        model = load(data_dir, folder)
        meta = {k: model["metadata"][k] for k in METADATA if k in model["metadata"]}
        meta.setdefault("signingName", meta["endpointPrefix"])
        meta["errorPrefix"] = sdk_client_name(meta["serviceId"])
        # The AWS SDKs' AWS_ENDPOINT_URL_<ID>: the serviceId upper-cased, spaces as underscores.
        meta["endpointVariable"] = meta["serviceId"].upper().replace(" ", "_").replace("-", "_")
        operations, shapes = trim(model)
        text = json.dumps({"metadata": meta, "operations": operations, "shapes": shapes},
                          separators=(",", ":"))
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            f.write(text + "\n")
        total += len(text)
        print(f"{name:15} {len(operations):4} operations {len(shapes):5} shapes {len(text)//1024:5} KiB")
    print(f"total {total//1024} KiB")


if __name__ == "__main__":
    main()
