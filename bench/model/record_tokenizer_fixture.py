#!/usr/bin/env python3
"""Records llama.cpp's token ids for a fixed set of strings into a test fixture.

Usage: bench/model/record_tokenizer_fixture.py MODEL.gguf OUT.json

Run once per model; the tokenizer test compares Accord's ids against the file, so the
test itself needs no llama.cpp. Each string is written to a temporary file and tokenized
by `bench/model/llama_cpp.sh tokenize MODEL FILE` (llama-tokenize -f FILE --no-escape --ids
--no-bos: exact bytes, special tokens parsed, no BOS).
"""
import json
import os
import subprocess
import sys
import tempfile

CASES = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "  leading spaces and trailing  ",
    "Numbers: 12345 and 3.14159, 2024-05-01",
    "it's we're they'll I'd YOU'RE",
    "naïve café résumé — “quotes” and emoji 🎉",
    'fn main() {\n    println!("hi");\n}\n',
    "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
    "tabs\tand\nnewlines\n\n\nend  \n",
    "日本語のテキストと中文",
    "- [ ] item one\n- [x] item two\n\n## Changelog\n* fixed typo",
    "CamelCaseIdentifier snake_case_id 0xFF $HOME ~/.config",
    "   \n\t  mixed   whitespace\r\nwindows line",
]


def main():
    model, out = sys.argv[1], sys.argv[2]
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "llama_cpp.sh")
    cases = []
    for text in CASES:
        with tempfile.NamedTemporaryFile("wb", delete=False) as f:
            f.write(text.encode("utf-8"))
            name = f.name
        try:
            line = subprocess.run(
                ["bash", script, "tokenize", model, name],
                check=True, capture_output=True, text=True,
            ).stdout.strip()
        finally:
            os.unlink(name)
        cases.append({"text": text, "ids": json.loads(line)})
    version = os.environ.get("LLAMA_CPP_PYTHON_VERSION", "0.3.36")
    doc = {
        "model": os.path.basename(model),
        "produced_by": f"bench/model/record_tokenizer_fixture.py {os.path.basename(model)} (llama.cpp from llama-cpp-python {version} sdist: llama-tokenize -f FILE --no-escape --ids --no-bos)",
        "cases": cases,
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
