#!/usr/bin/env python3
"""server.py - a test server that renders chat requests as vLLM does.

vLLM renders a chat request with transformers' own apply_chat_template; how
it treats `continue_final_message` (the open user turn of the Oasis hook)
therefore depends on the transformers version it runs on. This server uses
that same code, on whatever transformers the Python running it has (the
tests start it under 4.49 and a current 5.x), with a Qwen2-VL-style ChatML
template with vision markers and a byte-level tokenizer built here (no model,
no download, no torch).

Usage:
    python server.py --port 0 --port-file F [--log FILE] [--no-token-strs] [--ignore-continue] [--template chatml|blank-line]

Endpoints, in vLLM's shapes:
    GET  /version, /health, /v1/models
    POST /v1/chat/completions  renders the messages; answers with
         "render ends: <the last 80 characters of the rendered prompt>"
         (role "user" when continue_final_message); the whole render is logged
    POST /tokenize   {"messages"|"prompt", "add_generation_prompt",
                      "continue_final_message", "return_token_strs"} ->
                     {"count", "max_model_len", "tokens"[, "token_strs"]}
    POST /detokenize {"tokens"} -> {"prompt"}
--no-token-strs answers as vLLM versions without return_token_strs do.
--ignore-continue drops continue_final_message, as vLLM releases from before
the field do: every user turn is rendered closed.
Loopback only. SIGTERM ends it.
"""
import argparse
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

MODEL = "faithful-qwen2-vl"
SPECIAL = ["<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>",
           "<|endoftext|>"]

# ChatML with a default system turn and vision markers for media parts, the way
# Qwen2-VL's template lays a conversation out (written for this project): each
# turn ends "<|im_end|>" and a line break.
CHATML = (
    "{% for m in messages %}"
    "{% if loop.first and m['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}"
    "{% for p in m['content'] %}"
    "{% if p['type'] == 'image' or p['type'] == 'image_url' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif p['type'] == 'video' or p['type'] == 'video_url' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif p['type'] == 'text' %}{{ p['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# A template whose turns end with nothing but a blank line ("USER: ...\n\n"), as some
# older chat formats do: an empty final text leaves that blank line in place.
BLANK_LINE = (
    "{% for m in messages %}"
    "{{ m['role'] | upper }}: "
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}"
    "{% for p in m['content'] %}"
    "{% if p['type'] in ('image', 'image_url') %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif p['type'] == 'text' %}{{ p['text'] }}{% endif %}"
    "{% endfor %}{% endif %}\n\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT: {% endif %}"
)

TEMPLATES = {"chatml": CHATML, "blank-line": BLANK_LINE}


def build_tokenizer():
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tok = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.add_special_tokens({"additional_special_tokens": SPECIAL})
    fast.chat_template = CHATML
    return fast


TOKENIZER = build_tokenizer()


def hf_messages(messages):
    """OpenAI content parts as vLLM hands them to a template that iterates parts."""
    out = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            parts = []
            for p in content:
                t = p.get("type")
                if t == "image_url":
                    parts.append({"type": "image"})
                elif t == "video_url":
                    parts.append({"type": "video"})
                else:
                    parts.append(p)
            content = parts
        out.append({"role": m.get("role"), "content": content})
    return out


IGNORE_CONTINUE = False


def render(body):
    add_gen = body.get("add_generation_prompt", True)
    cont = body.get("continue_final_message", False) and not IGNORE_CONTINUE
    if add_gen and cont:
        raise ValueError("Cannot set both `continue_final_message` and `add_generation_prompt` to True.")
    return TOKENIZER.apply_chat_template(
        hf_messages(body["messages"]), tokenize=False, add_generation_prompt=add_gen, continue_final_message=cont)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, message):
        self.send(status, {"object": "error", "message": message, "type": "BadRequestError", "code": status})

    def do_GET(self):
        if self.path == "/version":
            return self.send(200, {"version": "faithful-" + transformers.__version__})
        if self.path == "/health":
            return self.send(200, {})
        if self.path == "/v1/models":
            return self.send(200, {"object": "list", "data": [{"id": MODEL, "object": "model",
                                                               "max_model_len": 32768}]})
        return self.error(404, "Not Found")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(n) or b"{}")
        except ValueError:
            return self.error(400, "body is not JSON")
        try:
            if self.path == "/v1/chat/completions":
                prompt = render(body)
                log(self.server, {"path": self.path, "rendered": prompt, "body": body})
                content = "render ends: " + prompt[-80:]
                role = "user" if body.get("continue_final_message") else "assistant"
                return self.send(200, {
                    "id": "chatcmpl-faithful", "object": "chat.completion", "model": MODEL,
                    "choices": [{"index": 0, "message": {"role": role, "content": content},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": len(TOKENIZER.encode(prompt, add_special_tokens=False)),
                              "completion_tokens": 3, "total_tokens": 0}})
            if self.path == "/tokenize":
                prompt = render(body) if "messages" in body else body.get("prompt", "")
                log(self.server, {"path": self.path, "rendered": prompt, "body": body})
                ids = TOKENIZER.encode(prompt, add_special_tokens=False)
                out = {"count": len(ids), "max_model_len": 32768, "tokens": ids}
                if body.get("return_token_strs") and self.server.token_strs:
                    out["token_strs"] = TOKENIZER.convert_ids_to_tokens(ids)
                return self.send(200, out)
            if self.path == "/detokenize":
                return self.send(200, {"prompt": TOKENIZER.decode(body.get("tokens") or [])})
        except (KeyError, ValueError, TypeError) as e:
            return self.error(400, str(e))
        return self.error(404, "Not Found")


def log(server, entry):
    if server.log_path:
        with open(server.log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    ap.add_argument("--no-token-strs", action="store_true")
    ap.add_argument("--ignore-continue", action="store_true")
    ap.add_argument("--template", choices=sorted(TEMPLATES), default="chatml")
    a = ap.parse_args()
    global IGNORE_CONTINUE
    IGNORE_CONTINUE = a.ignore_continue
    TOKENIZER.chat_template = TEMPLATES[a.template]
    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    server.log_path = a.log
    server.token_strs = not a.no_token_strs
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % server.server_address[1])
        os.rename(tmp, a.port_file)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == "__main__":
    main()
