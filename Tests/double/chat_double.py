#!/usr/bin/env python3
"""chat_double.py - a local fake OpenAI-compatible chat-completions server.

A test double for mminf's fault-injection tests: it answers deterministically
and can be told to be slow, to queue, to fail with 4xx/5xx, to drop the
connection, to hang, to trickle, or to send malformed JSON. Python 3 stdlib
only. It listens on loopback only.

Usage:
    python3 Tests/double/chat_double.py --port 0 --port-file F \
        [--faults JSON-or-@file] [--log FILE] [--host 127.0.0.1] [--verbose]

With --port 0 it binds a free loopback port and writes the number (and a
newline) to F once it is listening (written atomically: poll until F exists).
SIGTERM or SIGINT shuts it down cleanly (exit 0), even with requests hanging.

Endpoints:
    GET  /health               200 {"status":"ok"}
    GET  /version              200 {"version":"0.0-double"}  (like vLLM)
    GET  /v1/models            one model, "double-model"
    POST /v1/chat/completions  content = "echo: " + the text parts of the last
                               message (joined with " ", cut to 200 chars);
                               usage.prompt_tokens = words in all messages'
                               text, completion_tokens = words in the answer;
                               finish_reason "stop"; message.role "assistant",
                               or "user" if the request had
                               "continue_final_message": true; with n > 1,
                               n choices, choice i's content ends with " #i"
                               (i = 0..n-1). "stream": true answers as SSE
                               (chunked) ending with "data: [DONE]".
    POST /tokenize             like vLLM's: {"prompt"} -> {"tokens"}; a "<|...|>"
                               marker is one token, id 100000 + (byte sum % 5000)
    POST /_faults              replace the faults (same JSON as --faults);
                               also resets the request index and the RNG.
    GET  /_faults              the faults in force.
    GET  /_requests            the request log as a JSON list.
    DELETE /_requests          clear the in-memory request log.

Every request except the /_ control endpoints is logged (in memory, and to
--log FILE as one JSON line each): {"path", "method", "headers" (lower-cased
names; authorization redacted to "present"), "body" (parsed JSON, or null;
"raw" holds the text if it was not JSON), "t" (arrival, unix seconds),
"client_port" (the connection's port on the client side)};
chat-completion requests also carry "index" (arrival index, from 0) and
"action" (what the double did).

Faults (a JSON object; every key optional) apply to POST /v1/chat/completions:
    latency_ms          fixed delay before answering
    latency_lognormal   {"median_ms": M, "sigma": S}: delay M*exp(S*N(0,1))
                        (added to latency_ms)
    slots               K: at most K requests processed at once; others queue.
                        The delay (and a hang) is spent holding a slot.
    p429, p500, p502, p503, p504
                        probability of that status with an error body; 429
                        carries "Retry-After: N" with N = retry_after
                        (seconds, default 1)
    p_reset             probability of "reset" (drawn with the statuses)
    retry_after         see p429
    seed                seed for the random faults (default 0): one draw per
                        request in arrival order, so runs are reproducible
    trickle_ms          delay per byte for "trickle" (default 50)
    idle_close_ms       close a kept-alive connection that waits this long
                        for its next request (a server's keep-alive timeout;
                        read when the connection opens)
    script              [[REGEX, ANSWER], ...]: the first REGEX found in the last
                        message's text picks the answer (else the echo), so a
                        pipeline's every step gets an answer in its own form
    reasoning           true: answers carry message.reasoning_content
                        "thinking it over", as a reasoning model behind vLLM does
    preset              {"sequence": [ACTION, ...], "cycle": false}: the
                        action for the request of that arrival index; past
                        the end of the list the random faults above apply
                        (none by default: "ok"), or the list repeats when
                        "cycle" is true. A plain list is taken as sequence.
ACTIONs:
    "ok"         normal answer (a preset "ok" skips the random faults)
    "reset"      close the socket without answering (SO_LINGER 0: a TCP RST)
    "hang"       sleep 3600 s, then answer (the client should time out first)
    "trickle"    normal answer, body sent one byte per trickle_ms
    "malformed"  200 with a body that is not valid JSON
    "empty"      200 with valid JSON but no choices
    "error200"   200 whose body is an error object (as some gateways send)
    "400"        {"error":{"message":"This model's maximum context length is
                 4096 tokens","type":"invalid_request_error","code":400}}
    "422"        {"object":"error","message":"...","type":"BadRequestError",
                 "code":422}  (vLLM's shape)
    "429"        rate-limit error with Retry-After
    "endless"    200 whose chunked body never ends (until the client hangs up)
    "echo_key"   401 whose message repeats the request's Authorization header,
                 as a careless gateway does ("Invalid API key: Bearer sk-...")
    "NNN"        any other status: {"error":{"message","type","code":NNN}}

Example:
    python3 Tests/double/chat_double.py --port 0 --port-file /tmp/p \
        --faults '{"preset":{"sequence":["429","500","ok"]},"retry_after":2}' &
    curl -s localhost:$(cat /tmp/p)/v1/chat/completions -d \
        '{"model":"m","messages":[{"role":"user","content":"hi"}]}'
"""

import argparse
import json
import re
import math
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL_ID = "double-model"
HANG_SECONDS = 3600.0
MAX_ECHO = 200

STATUS_TEXT_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    429: "rate_limit_error",
}


class State:
    """Faults, request index, RNG, slots and request log, shared by threads."""

    def __init__(self, faults, log_path):
        self.lock = threading.Lock()
        self.slot_cond = threading.Condition(self.lock)
        self.active = 0
        self.log = []
        self.log_path = log_path
        self.log_lock = threading.Lock()
        self.log_file = open(log_path, "a", encoding="utf-8") if log_path else None
        self.stopping = threading.Event()
        self.set_faults(faults)

    def set_faults(self, faults):
        if not isinstance(faults, dict):
            raise ValueError("faults must be a JSON object")
        preset = faults.get("preset")
        if preset is not None and not isinstance(preset, (dict, list)):
            raise ValueError("preset must be an object or a list")
        with self.lock:
            self.faults = faults
            self.index = 0
            self.rng = random.Random(faults.get("seed", 0))
            self.slot_cond.notify_all()

    def get_faults(self):
        with self.lock:
            return self.faults

    def next_request(self):
        """Arrival index, action and delay (seconds) for a chat request."""
        with self.lock:
            f = self.faults
            i = self.index
            self.index += 1
            # Always draw the same numbers per request so that the n-th
            # request sees the same outcome whatever the faults are.
            r = self.rng.random()
            z = self.rng.gauss(0.0, 1.0)
        action = None
        preset = f.get("preset")
        if preset is not None:
            seq = preset if isinstance(preset, list) else preset.get("sequence", [])
            cycle = isinstance(preset, dict) and bool(preset.get("cycle"))
            if seq and (i < len(seq) or cycle):
                action = str(seq[i % len(seq)])
        if action is None:
            action = "ok"
            acc = 0.0
            for code in ("429", "500", "502", "503", "504", "reset"):
                acc += float(f.get("p_reset" if code == "reset" else "p" + code, 0) or 0)
                if r < acc:
                    action = code
                    break
        delay = float(f.get("latency_ms", 0) or 0) / 1000.0
        ln = f.get("latency_lognormal")
        if isinstance(ln, dict):
            median = float(ln.get("median_ms", 0) or 0)
            sigma = float(ln.get("sigma", 0) or 0)
            delay += median * math.exp(sigma * z) / 1000.0
        return i, action, delay

    def acquire_slot(self):
        with self.slot_cond:
            while True:
                k = self.faults.get("slots")
                if not k or self.active < int(k) or self.stopping.is_set():
                    self.active += 1
                    return
                self.slot_cond.wait(0.5)

    def release_slot(self):
        with self.slot_cond:
            self.active -= 1
            self.slot_cond.notify_all()

    def record(self, entry):
        line = json.dumps(entry, ensure_ascii=False)
        with self.log_lock:
            self.log.append(entry)
            if self.log_file:
                self.log_file.write(line + "\n")
                self.log_file.flush()

    def requests(self):
        with self.log_lock:
            return list(self.log)

    def clear_requests(self):
        with self.log_lock:
            self.log.clear()


def text_of(content):
    """The text of a message's content: a string, or its text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for p in content:
            if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str):
                parts.append(p["text"])
            elif isinstance(p, str):
                parts.append(p)
        return " ".join(parts)
    return ""


def chatml(req):
    """A ChatML render of a chat request, for /tokenize: media parts become a marker."""
    out = []
    msgs = req.get("messages") or []
    for i, msg in enumerate(msgs):
        content = msg.get("content")
        if isinstance(content, list):
            content = "".join("<|image|>" if p.get("type") in ("image_url", "video_url") else str(p.get("text", ""))
                              for p in content if isinstance(p, dict))
        last_open = i == len(msgs) - 1 and req.get("continue_final_message")
        out.append("<|im_start|>%s\n%s%s" % (msg.get("role"), content or "", "" if last_open else "<|im_end|>\n"))
    if req.get("add_generation_prompt", True) and not req.get("continue_final_message"):
        out.append("<|im_start|>assistant\n")
    return "".join(out)


def words(s):
    return len(s.split())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "chat_double/1.0"
    state = None  # set in main
    verbose = False

    # -- plumbing ------------------------------------------------------------

    def setup(self):
        super().setup()
        try:  # no Nagle delay on small responses (as real servers do)
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        idle = self.state.get_faults().get("idle_close_ms")
        if idle:  # a wait for the next request past this ends in handle_one_request's close
            self.connection.settimeout(idle / 1000.0)

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("chat_double: %s - %s\n" % (self.address_string(), fmt % args))

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks = []
            while True:
                line = self.rfile.readline()
                if not line:
                    break
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # trailers until an empty line
                    while True:
                        t = self.rfile.readline()
                        if not t or t in (b"\r\n", b"\n"):
                            break
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send_json(self, status, obj, extra_headers=None, raw=None):
        data = raw if raw is not None else json.dumps(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        # Headers and body in one write (end_headers would send them apart).
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(data)
        self.flush_headers()

    def error_body(self, status, message=None):
        if status == 400:
            return {"error": {"message": message or "This model's maximum context length is 4096 tokens",
                              "type": "invalid_request_error", "code": 400}}
        if status == 422:
            return {"object": "error",
                    "message": message or "1 validation error: body.messages: Field required (double)",
                    "type": "BadRequestError", "code": 422}
        typ = STATUS_TEXT_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
        return {"error": {"message": message or "%d %s (chat_double)" % (status, self.responses.get(status, ("",))[0]),
                          "type": typ, "code": status}}

    def send_error_status(self, status, message=None):
        headers = {}
        if status == 429:
            headers["Retry-After"] = str(self.state.get_faults().get("retry_after", 1))
        self.send_json(status, self.error_body(status, message), headers)

    def log_request_entry(self, body_bytes, parsed, ok_json, extra=None):
        headers = {}
        for k, v in self.headers.items():
            k = k.lower()
            headers[k] = "present" if k == "authorization" else v
        entry = {"path": self.path, "method": self.command, "headers": headers,
                 "body": parsed if ok_json else None, "t": self.t_arrival,
                 "client_port": self.client_address[1]}
        if body_bytes and not ok_json:
            entry["raw"] = body_bytes.decode("utf-8", "replace")
        if extra:
            entry.update(extra)
        self.state.record(entry)
        return entry

    def parse(self, body):
        if not body:
            return None, False
        try:
            return json.loads(body.decode("utf-8")), True
        except (ValueError, UnicodeDecodeError):
            return None, False

    def reset_connection(self):
        """Close without answering, with SO_LINGER 0 so the peer sees a RST."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.rfile.close()
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass

    # -- dispatch ------------------------------------------------------------

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, socket.timeout):
            self.close_connection = True
        except OSError:
            self.close_connection = True

    def dispatch(self):
        self.t_arrival = time.time()
        path = self.path.split("?", 1)[0]
        body = self.read_body()
        parsed, ok_json = self.parse(body)
        m = self.command

        if path.startswith("/_"):
            return self.control(m, path, body, parsed, ok_json)

        if path == "/v1/chat/completions" and m == "POST":
            return self.chat(body, parsed, ok_json)

        self.log_request_entry(body, parsed, ok_json)
        if path == "/health" and m in ("GET", "HEAD"):
            return self.send_json(200, {"status": "ok"})
        if path == "/version" and m in ("GET", "HEAD"):
            return self.send_json(200, {"version": "0.0-double"})
        if path == "/tokenize" and m == "POST" and ok_json and isinstance(parsed, dict) and "messages" in parsed:
            # Chat form: a plain ChatML render (the final user turn left open when asked,
            # as transformers 5.x does), one token per UTF-8 byte; /detokenize reverses it.
            tokens = list(chatml(parsed).encode("utf-8"))
            return self.send_json(200, {"tokens": tokens, "count": len(tokens), "max_model_len": 4096})
        if path == "/detokenize" and m == "POST" and ok_json and isinstance(parsed, dict):
            data = bytes(t for t in parsed.get("tokens", []) if isinstance(t, int) and 0 <= t < 256)
            return self.send_json(200, {"prompt": data.decode("utf-8", "replace")})
        if path == "/tokenize" and m == "POST" and ok_json and isinstance(parsed, dict):
            # Like vLLM's: a "<|...|>" marker is one special token (a stable id), other text one token per word.
            text = str(parsed.get("prompt", ""))
            if text.startswith("<|") and text.endswith("|>"):
                tokens = [100000 + sum(text.encode()) % 5000]
            else:
                tokens = [1000 + sum(w.encode()) % 5000 for w in text.split()]
            return self.send_json(200, {"tokens": tokens, "count": len(tokens), "max_model_len": 4096})
        if path in ("/v1/models", "/models") and m in ("GET", "HEAD"):
            return self.send_json(200, {"object": "list", "data": [
                {"id": MODEL_ID, "object": "model", "created": 0,
                 "owned_by": "chat_double", "max_model_len": 4096}]})
        return self.send_error_status(404, "no route for %s %s (chat_double)" % (m, path))

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = dispatch

    def control(self, m, path, body, parsed, ok_json):
        if path == "/_faults" and m == "POST":
            if not ok_json:
                return self.send_error_status(400, "POST /_faults needs a JSON object")
            try:
                self.state.set_faults(parsed)
            except ValueError as e:
                return self.send_error_status(400, str(e))
            return self.send_json(200, parsed)
        if path == "/_faults" and m == "GET":
            return self.send_json(200, self.state.get_faults())
        if path == "/_requests" and m == "GET":
            return self.send_json(200, self.state.requests())
        if path == "/_requests" and m == "DELETE":
            self.state.clear_requests()
            return self.send_json(200, [])
        return self.send_error_status(404, "no control route %s %s" % (m, path))

    # -- chat completions ----------------------------------------------------

    def chat(self, body, parsed, ok_json):
        st = self.state
        i, action, delay = st.next_request()
        self.log_request_entry(body, parsed, ok_json, {"index": i, "action": action})

        st.acquire_slot()
        try:
            if delay > 0:
                st.stopping.wait(delay)
            if action == "reset":
                return self.reset_connection()
            if action == "hang":
                st.stopping.wait(HANG_SECONDS)
                if st.stopping.is_set():
                    return self.reset_connection()
                action = "ok"
            if action == "endless":
                return self.endless()
            if action == "echo_key":
                return self.send_error_status(401, "Invalid API key: %s" % self.headers.get("Authorization", ""))
            if action not in ("ok", "trickle", "malformed", "empty", "error200"):
                try:
                    status = int(action)
                except ValueError:
                    return self.send_error_status(500, "unknown preset action %r" % action)
                return self.send_error_status(status)

            if not ok_json or not isinstance(parsed, dict):
                return self.send_error_status(400, "request body is not a JSON object")
            msgs = parsed.get("messages")
            if not isinstance(msgs, list) or not msgs:
                return self.send_error_status(400, "'messages' must be a non-empty list")

            if action == "malformed":
                return self.send_json(200, None, raw=b'{"id": "chatcmpl-double", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assist')
            if action == "empty":
                return self.send_json(200, None, raw=b'{"id": "chatcmpl-double", "object": "chat.completion", "choices": []}')
            if action == "error200":
                return self.send_json(200, None, raw=b'{"error": {"message": "upstream model overloaded", "type": "server_error"}}')

            if parsed.get("stream"):
                return self.stream(i, parsed, msgs, action == "trickle")
            resp = self.completion(i, parsed, msgs)
            data = json.dumps(resp).encode("utf-8")
            if action == "trickle":
                return self.trickle(data)
            return self.send_json(200, None, raw=data)
        finally:
            st.release_slot()

    def endless(self):
        """A 200 whose body never ends: a client must stop reading by itself."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        block = b"a" * 65536
        first = b'{"choices":[{"message":{"role":"assistant","content":"'
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(first), first))
            sent = 0
            while not self.state.stopping.is_set() and sent < (4 << 30):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
                sent += len(block)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass

    def answer(self, parsed, msgs):
        last = msgs[-1] if isinstance(msgs[-1], dict) else {}
        content = "echo: " + text_of(last.get("content"))[:MAX_ECHO]
        # A script answers each kind of prompt in the form its step expects.
        for pattern, reply in self.state.get_faults().get("script") or []:
            if re.search(pattern, text_of(last.get("content")) or ""):
                content = reply
                break
        role = "user" if parsed.get("continue_final_message") is True else "assistant"
        prompt_words = sum(words(text_of(m.get("content"))) for m in msgs if isinstance(m, dict))
        try:
            n = max(1, int(parsed.get("n") or 1))
        except (TypeError, ValueError):
            n = 1
        contents = [content] if n == 1 else ["%s #%d" % (content, k) for k in range(n)]
        return role, contents, prompt_words

    def completion(self, i, parsed, msgs):
        role, contents, prompt_words = self.answer(parsed, msgs)
        completion_words = sum(words(c) for c in contents)
        reasoning = self.state.get_faults().get("reasoning")
        extra = {"reasoning_content": "thinking it over"} if reasoning else {}
        return {
            "id": "chatcmpl-double-%d" % i,
            "object": "chat.completion",
            "created": int(self.t_arrival),
            "model": parsed.get("model") or MODEL_ID,
            "choices": [
                {"index": k, "message": dict({"role": role, "content": c}, **extra),
                 "logprobs": None, "finish_reason": "stop"}
                for k, c in enumerate(contents)
            ],
            "usage": {"prompt_tokens": prompt_words, "completion_tokens": completion_words,
                      "total_tokens": prompt_words + completion_words},
        }

    def trickle(self, data):
        per_byte = float(self.state.get_faults().get("trickle_ms", 50)) / 1000.0
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        for k in range(len(data)):
            if self.state.stopping.is_set():
                return self.reset_connection()
            self.wfile.write(data[k:k + 1])
            self.wfile.flush()
            if per_byte > 0:
                time.sleep(per_byte)

    def stream(self, i, parsed, msgs, trickle):
        """SSE answer with chunked transfer encoding (keep-alive safe)."""
        role, contents, prompt_words = self.answer(parsed, msgs)
        model = parsed.get("model") or MODEL_ID
        base = {"id": "chatcmpl-double-%d" % i, "object": "chat.completion.chunk",
                "created": int(self.t_arrival), "model": model}
        events = []
        for k, c in enumerate(contents):
            events.append(dict(base, choices=[{"index": k, "delta": {"role": role, "content": ""},
                                               "logprobs": None, "finish_reason": None}]))
            toks = c.split(" ")
            for j, w in enumerate(toks):
                piece = w if j == 0 else " " + w
                events.append(dict(base, choices=[{"index": k, "delta": {"content": piece},
                                                   "logprobs": None, "finish_reason": None}]))
            events.append(dict(base, choices=[{"index": k, "delta": {},
                                               "logprobs": None, "finish_reason": "stop"}]))
        so = parsed.get("stream_options") or {}
        if isinstance(so, dict) and so.get("include_usage"):
            cw = sum(words(c) for c in contents)
            events.append(dict(base, choices=[], usage={"prompt_tokens": prompt_words,
                                                         "completion_tokens": cw,
                                                         "total_tokens": prompt_words + cw}))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        per = float(self.state.get_faults().get("trickle_ms", 50)) / 1000.0 if trickle else 0.0
        payloads = ["data: %s\n\n" % json.dumps(e) for e in events] + ["data: [DONE]\n\n"]
        for p in payloads:
            b = p.encode("utf-8")
            self.wfile.write(b"%x\r\n%s\r\n" % (len(b), b))
            self.wfile.flush()
            if per:
                time.sleep(per)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def load_faults(arg):
    if not arg:
        return {}
    text = arg
    if arg.startswith("@"):
        with open(arg[1:], encoding="utf-8") as f:
            text = f.read()
    faults = json.loads(text)
    if not isinstance(faults, dict):
        raise SystemExit("chat_double: --faults must be a JSON object")
    return faults


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fake OpenAI-compatible chat-completions server for tests.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the bound port here once listening")
    ap.add_argument("--faults", help="JSON object, or @FILE holding one")
    ap.add_argument("--log", help="append every request as one JSON line to this file")
    ap.add_argument("--verbose", action="store_true", help="access log on stderr")
    args = ap.parse_args(argv)

    state = State(load_faults(args.faults), args.log)
    Handler.state = state
    Handler.verbose = args.verbose
    server = Server((args.host, args.port), Handler)
    port = server.server_address[1]

    if args.port_file:
        tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    sys.stderr.write("chat_double: listening on http://%s:%d\n" % (args.host, port))
    sys.stderr.flush()

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()
    while not stop.wait(0.5):
        pass
    state.stopping.set()  # wake hanging/queued/sleeping requests
    with state.slot_cond:
        state.slot_cond.notify_all()
    server.shutdown()
    server.server_close()
    if state.log_file:
        with state.log_lock:
            state.log_file.close()
            state.log_file = None
    sys.stderr.write("chat_double: stopped\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
