#!/usr/bin/env python3
"""Extract the Smithy protocol compliance test cases into one JSON file.

Reads the .smithy files under testdata/smithy-protocol-tests/ and writes
testdata/smithy-protocol-tests/test-cases.json: every @httpRequestTests,
@httpResponseTests and @httpMalformedRequestTests case with the shape it is applied to,
its file, and its fields (id, protocol, method, uri, headers, body, params, code,
appliesTo, ...) as JSON. Text blocks (\"\"\"...\"\"\") are decoded with Smithy's rules
(incidental indentation stripped, trailing spaces removed, escapes processed), so
`body` is the exact string the test expects.

Only the test traits are parsed; the shape definitions stay in the .smithy files
(the params of a test must be read against the target shape's members there).

Usage:  python3 tools/extract-smithy-protocol-tests.py
"""
from __future__ import annotations

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "smithy-protocol-tests")
OUT = os.path.join(ROOT, "test-cases.json")
TRAITS = ("httpRequestTests", "httpResponseTests", "httpMalformedRequestTests")


class Parser:
    def __init__(self, text: str):
        self.s = text
        self.i = 0

    def ws(self):
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r\n,":
                self.i += 1
            elif s.startswith("//", self.i):
                j = s.find("\n", self.i)
                self.i = len(s) if j < 0 else j + 1
            else:
                break

    def value(self):
        self.ws()
        s, c = self.s, self.s[self.i]
        if c == "{":
            self.i += 1
            obj = {}
            while True:
                self.ws()
                if s[self.i] == "}":
                    self.i += 1
                    return obj
                key = self.string() if s[self.i] == '"' else self.ident()
                self.ws()
                assert s[self.i] == ":", (self.i, s[self.i - 40:self.i + 40])
                self.i += 1
                obj[key] = self.value()
        if c == "[":
            self.i += 1
            arr = []
            while True:
                self.ws()
                if s[self.i] == "]":
                    self.i += 1
                    return arr
                arr.append(self.value())
        if c == '"':
            return self.string()
        m = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?").match(s, self.i)
        if m:
            self.i = m.end()
            t = m.group(0)
            return float(t) if any(ch in t for ch in ".eE") else int(t)
        word = self.ident()
        return {"true": True, "false": False, "null": None}.get(word, word)

    def ident(self):
        m = re.compile(r"[A-Za-z_][A-Za-z0-9_.#$]*").match(self.s, self.i)
        assert m, (self.i, self.s[self.i:self.i + 40])
        self.i = m.end()
        return m.group(0)

    def string(self):
        s = self.s
        if s.startswith('"""', self.i):
            end = self.i + 3
            while True:
                end = s.index('"""', end)
                if s[end - 1] != "\\":
                    break
                end += 1
            raw = s[self.i + 3:end]
            self.i = end + 3
            return unescape(text_block(raw))
        j = self.i + 1
        while s[j] != '"':
            j += 2 if s[j] == "\\" else 1
        raw = s[self.i + 1:j]
        self.i = j + 1
        return unescape(raw)


def text_block(raw: str) -> str:
    assert raw.startswith("\n"), "text block must start with a newline"
    lines = raw[1:].split("\n")
    last_blank = lines[-1].strip() == ""
    indents = [len(l) - len(l.lstrip(" \t")) for l in lines if l.strip()]
    if last_blank:
        indents.append(len(lines[-1]))
    n = min(indents) if indents else 0
    out = [l[n:].rstrip(" \t") for l in lines]
    return "\n".join(out)


def unescape(t: str) -> str:
    out, i = [], 0
    while i < len(t):
        c = t[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        n = t[i + 1]
        if n == "\n":
            i += 2
            continue
        if n == "u":
            out.append(chr(int(t[i + 2:i + 6], 16)))
            i += 6
            continue
        out.append({"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "\\": "\\",
                    "/": "/", "'": "'"}[n])
        i += 2
    return "".join(out)


SHAPE_RE = re.compile(r"^\s*(operation|structure|union|list|map|string|integer|service|resource|enum|intEnum)\s+(\w+)",
                      re.M)


def extract(path: str, rel: str):
    text = open(path, encoding="utf-8").read()
    ns = re.search(r"^namespace\s+(\S+)", text, re.M).group(1)
    cases = []
    for m in re.finditer(r"(apply\s+([\w.#$]+)\s+)?@(%s)\(" % "|".join(TRAITS), text):
        p = Parser(text)
        p.i = m.end()
        value = p.value()
        target = m.group(2)
        if not target:  # trait placed on the next shape definition
            nxt = SHAPE_RE.search(text, p.i)
            target = nxt.group(2) if nxt else None
        for case in value:
            cases.append({"file": rel, "namespace": ns, "trait": m.group(3), "target": target, **case})
    return cases


def main():
    all_cases = []
    for dirpath, _, files in sorted(os.walk(ROOT)):
        for f in sorted(files):
            if f.endswith(".smithy"):
                full = os.path.join(dirpath, f)
                all_cases += extract(full, os.path.relpath(full, ROOT))
    doc = {
        "description": ("Smithy AWS protocol compliance cases (awsQuery, awsJson1_1, and the awsJson1_0 query-compatible "
                        "and error cases) extracted from the .smithy files in this folder by "
                        "tools/extract-smithy-protocol-tests.py. 'target' is the operation or error shape the "
                        "trait is applied to; read 'params' against that shape in the .smithy file."),
        "count": len(all_cases),
        "cases": all_cases,
    }
    with open(OUT, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1, ensure_ascii=False)
        fh.write("\n")
    print(f"wrote {len(all_cases)} cases to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    sys.exit(main())
