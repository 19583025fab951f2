#!/usr/bin/env python3
"""Verify an Evercast audit bundle (evercast-audit-bundle-v1) offline.

Usage: python3 verify_bundle.py BUNDLE_DIR

A reference implementation of docs/compliance.md, independent of Evercast's
Go code: standard library only. Prints the findings and exits 0 when the
bundle is intact and its chain verifies, 1 otherwise.
"""
import hashlib
import json
import os
import sys

VERSION = "evercast-audit-v1"


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def canonical(value):
    # RFC 8785 for the values Evercast records (strings, integers, booleans,
    # null, arrays, objects). Keys sort by UTF-16 code units.
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        return "{" + ",".join(canonical(k) + ":" + canonical(v) for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, float):
        raise ValueError("fractional numbers are not used in Evercast records")
    return json.dumps(value, ensure_ascii=False)


def field(b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    return str(len(b)).encode("ascii") + b":" + b + b"\n"


def record_hash(rec):
    pre = (VERSION + "\n").encode("ascii")
    pre += field(str(rec["seq"]))
    pre += field(rec["session_id"])
    pre += field(rec["merchant_id"])
    pre += field(rec["kind"])
    pre += field(str(rec["at_ms"]))
    pre += field(rec["actor"])
    pre += field(canonical(rec["data"]))
    pre += field(rec["prev_hash"])
    return hashlib.sha256(pre).hexdigest()


def main(bundle):
    problems = []
    with open(os.path.join(bundle, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    session = manifest["session_id"]

    # 1. Files.
    present = {}
    for root, _, files in os.walk(bundle):
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, bundle).replace(os.sep, "/")
            if rel != "manifest.json":
                present[rel] = sha256_file(path)
    listed = manifest["files"]
    for rel in sorted(set(present) | set(listed)):
        if rel not in listed:
            problems.append("%s is not listed in the manifest" % rel)
        elif rel not in present:
            problems.append("%s is listed in the manifest but missing" % rel)
        elif present[rel] != listed[rel]:
            problems.append("%s does not match its SHA-256 in the manifest" % rel)

    # 2. Chain and 4. clips.
    prev = hashlib.sha256((VERSION + ":" + session).encode("utf-8")).hexdigest()
    expected, head, last, broken = 1, "", 0, None
    with open(os.path.join(bundle, "audit.jsonl"), encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if broken is None:
                if rec["session_id"] != session or rec["seq"] != expected:
                    broken = (expected, "expected record %d, found record %d" % (expected, rec["seq"]))
                elif rec["prev_hash"] != prev:
                    broken = (rec["seq"], "prev_hash does not match the previous record's hash")
                elif record_hash(rec) != rec["hash"]:
                    broken = (rec["seq"], "hash does not match the record's content")
                else:
                    prev, head, last, expected = rec["hash"], rec["hash"], rec["seq"], expected + 1
            data = rec["data"]
            if rec["kind"] == "clip.aired" and data.get("video_key"):
                clip_id = data.get("clip_id") or "clip"
                for c in "/\\:\0":
                    clip_id = clip_id.replace(c, "_")
                rel = "clips/%06d-%s.ts" % (rec["seq"], clip_id)
                if rel in present and present[rel] != data.get("video_sha256"):
                    problems.append("%s does not match the SHA-256 in record %d" % (rel, rec["seq"]))
    if broken is not None:
        problems.append("chain broken at record %d: %s" % broken)

    # 3. Head.
    if head != manifest["head"] or last != manifest["last_seq"]:
        problems.append("the chain ends at record %d (%s), the manifest says record %d (%s)"
                        % (last, head, manifest["last_seq"], manifest["head"]))

    for p in problems:
        print("PROBLEM:", p)
    if problems:
        print("BROKEN")
        return 1
    print("OK: session %s, %d records, head %s" % (session, last, head))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
